"""Boxoffice settings: one module, everything read from the environment.

The defaults are safe for production (DEBUG off, secure cookies, HSTS). `make run` and `make test`
set DEBUG and point DATABASE_URL / REDIS_URL at the embedded stack (config/devstack.py).
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = "insecure-development-key-" + "x" * 40

SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", urlsplit(SITE_URL).hostname or "localhost")
if DEBUG:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "testserver"]
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # full-text search, trigram and exclusion constraints (events)
    "ninja",  # serves the API docs' Swagger UI from our static files, not a CDN
    "allauth",
    "allauth.account",
    "core",  # the floor: no models; the test-switch system check
    "accounts",
    "events",
    "vouchers",
    "ticketing",
    "invoicing",
    "waitlist",
    "checkin",
    "notifications",
    "analytics",
]

MIDDLEWARE = [
    # Outermost: it sees every response, including those the others make (see its docstring).
    "core.middleware.ErrorContractMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the visitor's language (en, de)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "notifications.context_processors.unread",
            ],
            "builtins": ["core.templatetags.formatting"],
        },
    },
]

# --- Data stores -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/boxoffice")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
DATABASES["default"]["TEST"] = {
    # Lets several suites share one server without trampling each other's test database.
    "NAME": "test_boxoffice" + os.environ.get("TEST_DB_SUFFIX", ""),
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "bo"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            # A cache outage degrades pages; it must not take them down.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A dead broker answers fast, so a booking's after-commit publish never hangs on it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Queues: `celery` (the default: booking housekeeping), `notifications` (mail, SMS, in-app) and
# `webhooks` (organizers' servers, which can be slow), so a backlog in one never delays another.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "notifications.tasks.send_webhook": {"queue": "webhooks"},
    "notifications.tasks.*": {"queue": "notifications"},
}
CELERY_BEAT_SCHEDULE = {
    "notifications-redispatch": {"task": "notifications.tasks.redispatch", "schedule": 60.0},
    "notifications-reminders": {"task": "notifications.tasks.record_reminders", "schedule": 60.0},
    "release-expired-holds": {"task": "ticketing.tasks.release_expired_holds", "schedule": 30.0},
    "reconcile-payments": {"task": "ticketing.tasks.reconcile_payments", "schedule": 30.0},
    "sync-admission-gate": {"task": "ticketing.tasks.sync_admission_gate", "schedule": 60.0},
    "expire-waitlist-offers": {"task": "waitlist.tasks.expire_waitlist_offers", "schedule": 15.0},
    "retry-refunds": {"task": "ticketing.tasks.refunds_retry", "schedule": 60.0},
    "resume-refund-jobs": {"task": "ticketing.tasks.refund_jobs_resume", "schedule": 120.0},
}

# --- Auth ----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Verification mail is sent, but buying a ticket must not wait for it.
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_ADAPTER = "notifications.account_mail.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"

# --- Email ---------------------------------------------------------------------------------


def email_settings(url: str) -> dict[str, object]:
    """EMAIL_URL: smtp://user:pass@host:25, smtp+tls://...:587, smtp+ssl://...:465, or console://."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if parts.scheme not in {"smtp", "smtp+tls", "smtp+ssl"}:
        raise ImproperlyConfigured(f"EMAIL_URL scheme {parts.scheme!r} is not supported")
    query = parse_qs(parts.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or 25,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
        "EMAIL_USE_SSL": parts.scheme == "smtp+ssl",
        "EMAIL_TIMEOUT": int(query.get("timeout", ["10"])[0]),
    }


globals().update(email_settings(os.environ.get("EMAIL_URL", "console://")))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Boxoffice <tickets@boxoffice.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production defaults; DEBUG relaxes only what local http needs) ---------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- I18N, static --------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Third-party browser code comes from npm (package-lock.json), never pasted into the repo.
    ("vendor/barcode-detector", BASE_DIR / "node_modules" / "barcode-detector" / "dist" / "es"),
    ("vendor/zxing-wasm", BASE_DIR / "node_modules" / "zxing-wasm" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every step of every PDF at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# --- Boxoffice -----------------------------------------------------------------------------
BOXOFFICE_HOLD_MINUTES = int(os.environ.get("BOXOFFICE_HOLD_MINUTES", "10"))
# Ed25519 private keys are stored encrypted with a key derived from this (defaults to SECRET_KEY;
# an empty value, as an env file's `BOXOFFICE_SIGNING_SECRET=` gives, counts as unset).
# The single-statement accelerator of reserving and paying (ticketing/booking/hotpath.py); off,
# every request takes the reference path. The same answers either way (tests run both).
BOXOFFICE_HOT_PATH = os.environ.get("BOXOFFICE_HOT_PATH", "1") == "1"
# Tests only: locks and checks a concurrency test may switch off (core/testswitches.py); a
# system check refuses any of them on outside tests when DEBUG is off.
BOXOFFICE_TEST_SWITCHES: dict[str, object] = {}
BOXOFFICE_SIGNING_SECRET = os.environ.get("BOXOFFICE_SIGNING_SECRET") or SECRET_KEY
PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "sandbox")
# Anonymous event pages and listings come from Redis (0 turns a cache off). An organizer's edit
# invalidates them at once; these bound only what changes without an edit: ticket counts on an
# event page (availability) and sold-out badges and filters in listings.
EVENTS_PAGE_CACHE_SECONDS = int(os.environ.get("EVENTS_PAGE_CACHE_SECONDS", "600"))
EVENTS_AVAILABILITY_SECONDS = int(os.environ.get("EVENTS_AVAILABILITY_SECONDS", "3"))
EVENTS_LISTING_CACHE_SECONDS = int(os.environ.get("EVENTS_LISTING_CACHE_SECONDS", "30"))
# The sandbox processor answers after this long, like a real one over the network.
SANDBOX_LATENCY_MS = int(os.environ.get("SANDBOX_LATENCY_MS", "0"))

# Stripe (PAYMENT_PROVIDER=stripe). The webhook secret is the endpoint's `whsec_...` signing secret.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# Per request; a timed-out charge is retried once with the same Idempotency-Key, then reported
# as unknown (ProviderUnavailable) and reconciled later.
STRIPE_TIMEOUT_SECONDS = float(os.environ.get("STRIPE_TIMEOUT_SECONDS", "10"))
if PAYMENT_PROVIDER == "stripe" and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY.")

# --- Notifications -------------------------------------------------------------------------
NOTIFICATIONS_BATCH_SIZE = int(os.environ.get("NOTIFICATIONS_BATCH_SIZE", "50"))
NOTIFICATIONS_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATIONS_MAX_ATTEMPTS", "8"))
NOTIFICATIONS_RETRY_BASE_SECONDS = float(os.environ.get("NOTIFICATIONS_RETRY_BASE_SECONDS", "30"))
# Below the broker's visibility timeout: a Redis broker hands out again a countdown task that
# waited longer than that (harmless here, the claim stops the second send, but wasted work).
NOTIFICATIONS_RETRY_MAX_SECONDS = float(os.environ.get("NOTIFICATIONS_RETRY_MAX_SECONDS", "1800"))
# Nothing is re-dispatched younger than this (its own task is most likely on the way).
NOTIFICATIONS_REDISPATCH_GRACE_SECONDS = float(
    os.environ.get("NOTIFICATIONS_REDISPATCH_GRACE_SECONDS", "30")
)
# A delivery `sending` for longer than this was lost with its worker. Must exceed the task time
# limit, which ends any attempt still alive, so a reclaimed delivery has no other sender.
NOTIFICATIONS_SENDING_LEASE_SECONDS = float(
    os.environ.get("NOTIFICATIONS_SENDING_LEASE_SECONDS", str(CELERY_TASK_TIME_LIMIT * 2))
)
NOTIFICATIONS_REMINDER_OFFSETS = [
    int(m) for m in env_list("NOTIFICATIONS_REMINDER_OFFSETS", "1440,120")
]  # minutes before the start; an event can have its own
NOTIFICATIONS_REMINDER_MAX_MINUTES = 14 * 24 * 60
# After a failed publish, skip the broker this long (the outbox keeps what is skipped).
NOTIFICATIONS_BROKER_BACKOFF_SECONDS = float(
    os.environ.get("NOTIFICATIONS_BROKER_BACKOFF_SECONDS", "15")
)
# Test-only: the naive "already sent?" check instead of the atomic claim (negative control).

SMS_BACKEND = os.environ.get("SMS_BACKEND", "notifications.channels.sms.ConsoleSmsBackend")
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
SMS_GATEWAY_TIMEOUT_SECONDS = float(os.environ.get("SMS_GATEWAY_TIMEOUT_SECONDS", "10"))
SMS_FROM = os.environ.get("SMS_FROM", "Boxoffice")
if SMS_BACKEND.endswith("HttpGatewaySmsBackend") and not SMS_GATEWAY_URL:
    raise ImproperlyConfigured("The HTTP SMS gateway backend needs SMS_GATEWAY_URL.")

WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOK_DISABLE_AFTER_FAILURES", "20"))
# Plain http endpoints only where DEBUG is on (local receivers, tests).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", DEBUG)
