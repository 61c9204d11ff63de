"""Boxoffice settings: one module, everything read from the environment.

The defaults are safe for production (DEBUG off, secure cookies, HSTS). `make run` and `make test`
set DEBUG and point DATABASE_URL / REDIS_URL at the embedded stack (config/devstack.py).
"""

import os
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from csp.constants import NONCE
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
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",  # TOTP with recovery codes, WebAuthn passkeys
    "allauth.usersessions",  # a person sees and ends their own sessions
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
    "ops",
    "waitingroom",
]

MIDDLEWARE = [
    "ops.middleware.RequestObservabilityMiddleware",  # first: the request id covers everything
    # Next outermost: it sees every response, including those the others make (its docstring).
    "core.middleware.ErrorContractMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside CSPMiddleware: widens the policy for the scanner before the header is written.
    "core.headers.PagePermissionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, which serves static files pre-compressed (brotli/gzip) on its own.
    "ops.middleware.AnonymousGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the visitor's language (en, de)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "analytics.middleware.EventPageViewMiddleware",
    # After authentication: admins, and managers whose organization asks it, set up 2FA first.
    "accounts.middleware.RequireMfaMiddleware",
    "core.ratelimit.RateLimitMiddleware",
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
            "builtins": ["core.templatetags.formatting", "core.components"],
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
# Behind PgBouncer in transaction mode, one transaction's server connection is not the next
# one's: no server-side cursors (they live across statements) and no prepared statements
# (psycopg prepares a query it has seen 5 times, on whichever server it happened to get).
DATABASE_TRANSACTION_POOLING = env_bool("DATABASE_TRANSACTION_POOLING", False)
if DATABASE_TRANSACTION_POOLING:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
DATABASES["default"]["TEST"] = {
    # Lets several suites share one server without trampling each other's test database.
    "NAME": "test_boxoffice" + os.environ.get("TEST_DB_SUFFIX", ""),
}
# Dashboards, reports and exports read from a streaming replica when there is one
# (core/replica.py); without it the alias is the primary again and nothing is routed there.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
DATABASES["replica"] = dj_database_url.parse(
    DATABASE_REPLICA_URL or DATABASE_URL,
    conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "600")),
    conn_health_checks=True,
)
DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Django's backend with a cheaper health check (core/postgresql/base.py); others as they are.
for _alias in DATABASES:
    if DATABASES[_alias]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES[_alias]["ENGINE"] = "core.postgresql"
DATABASE_ROUTERS = ["core.replica.ReportingReadRouter"]
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "30"))
REPLICA_LAG_CHECK_SECONDS = float(os.environ.get("REPLICA_LAG_CHECK_SECONDS", "5"))
# The summary refresh rereads this far behind its watermark (late commits, clock skew).
ANALYTICS_REFRESH_OVERLAP_SECONDS = int(os.environ.get("ANALYTICS_REFRESH_OVERLAP_SECONDS", "300"))

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
_test_process = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", … under `pytest -n`
if _test_process and os.environ.get("REDIS_URL_OF_TEST_PROCESS") != _test_process:
    # Each test process takes the next Redis database (pytest-django gives each its own
    # PostgreSQL database): one process's tests must never see or flush another's keys, rate
    # counters, admission gate or Celery queue. Written back to the environment, marked as done,
    # so that the servers a test starts use the same database whether they inherit REDIS_URL or
    # are given this one, and do not move it again.
    _redis = urlsplit(REDIS_URL)
    _redis_db = int(_redis.path.strip("/") or 0) + int(_test_process.removeprefix("gw"))
    REDIS_URL = _redis._replace(path=f"/{_redis_db}").geturl()
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["REDIS_URL_OF_TEST_PROCESS"] = _test_process
# Seconds the cache's Redis client waits (connect and each answer) before it gives up.
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.05"))
CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "bo"),
        "OPTIONS": {
            # Tens of milliseconds: a frozen Redis costs a request this much, then the cache
            # is skipped and the admission gate steps aside (booking goes to PostgreSQL).
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            # A cache outage degrades pages; it must not take them down.
            "IGNORE_EXCEPTIONS": True,
        },
    },
    # Rendered page chrome (navigation, event tabs), per process: it depends only on the code,
    # the language and the few values each `{% cache %}` block varies on, and rendering it was
    # a fifth of a signed-in page's CPU. A deploy restarts the processes, which empties it.
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "fragments",
        "TIMEOUT": 3600,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport, except that losing Redis mid-task does not end the worker.
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker whose broker went away keeps trying to reconnect (every 2 s, then up to 30 s apart)
# however long the outage lasts: the default gives up after 100 tries, and the worker exits.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Celery's Django fixup closes the database connections before and after every task, unless
# they are reused this many tasks; config/celery.py drops broken or old ones (CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", "100000"))
# A dead broker answers fast, so a booking's after-commit publish never hangs on it.
# A frozen one (accepting connections, never answering) costs a publish socket_timeout, then the
# outbox's breaker skips the broker and the re-dispatcher catches up.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": float(os.environ.get("CELERY_BROKER_SOCKET_TIMEOUT", "0.5")),
}
# Workers log through LOGGING below (JSON with the request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
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
    "analytics-refresh": {"task": "analytics.tasks.refresh_summaries", "schedule": 60.0},
    "waiting-room-checkout-pace": {
        "task": "ticketing.tasks.waiting_room_checkout_pace",
        "schedule": 10.0,
    },
    "waiting-room-publish": {"task": "waitingroom.tasks.publish_rooms", "schedule": 60.0},
    "purge-dead-tokens": {"task": "accounts.tasks.dead_tokens_purge", "schedule": 3600.0},
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

# Second factors (allauth.mfa): an authenticator app with recovery codes, or a passkey.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "Boxoffice"
# Passkeys need https, except on the developer's own http://127.0.0.1.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# Sessions are recorded at sign-in and listed and revocable by their user; updating the record
# on every request would add a write to every signed-in page.
USERSESSIONS_TRACK_ACTIVITY = False

# --- Rate limits (core/ratelimit.py) --------------------------------------------------------
# The one policy table: "<count>/<window>". A name's suffix says what it counts: _ip the client
# address, _buyer the signed-in user at that address, _user the user, _device the scanner's
# credential; signin_account counts wrong passwords per account whatever the address.
RATE_LIMITS = {
    "signin_account": "10/15m",
    "signin_address_ip": "100/15m",
    "signin_lock_mail": "1/15m",  # one unlock email per lock
    "signup_ip": "20/h",
    "password_reset_ip": "20/h",
    "password_reset_key": "5/h",
    # Buyers: a person books a few times a minute; an address (NAT, a carrier) holds many people.
    "booking_buyer": "30/m",
    "booking_ip": "6000/m",
    "search_ip": "300/m",
    "public_page_ip": "1200/m",
    "scan_device": "600/m",
    "webhook_test_user": "10/m",
    # OAuth clients: a token endpoint is where a leaked client id gets its secret guessed.
    "oauth_token_ip": "120/m",
}
# Operators tune a policy without a release: RATE_LIMITS_OVERRIDE="signin_account=5/15m,...".
for _override in env_list("RATE_LIMITS_OVERRIDE"):
    _name, _, _rate = _override.partition("=")
    RATE_LIMITS[_name.strip()] = _rate.strip()
# After this many free wrong passwords an account waits BASE, then twice as long each time.
SIGNIN_FREE_FAILURES = int(os.environ.get("SIGNIN_FREE_FAILURES", "3"))
SIGNIN_DELAY_BASE_SECONDS = float(os.environ.get("SIGNIN_DELAY_BASE_SECONDS", "1"))
SIGNIN_DELAY_MAX_SECONDS = float(os.environ.get("SIGNIN_DELAY_MAX_SECONDS", "60"))
_PUBLIC = ("public_page_ip",)
_BOOKING = ("booking_buyer", "booking_ip")
_SCAN = ("scan_device",)
RATE_LIMITED_ROUTES: dict[str, tuple[str, ...]] = {
    "POST api:signup": ("signup_ip",),
    "POST api:register": _BOOKING,
    "POST api:pay": _BOOKING,
    "POST ticketing:book": _BOOKING,
    "GET api:search_events": ("search_ip",),
    "GET api:list_events": ("search_ip",),
    "GET events:list": ("search_ip",),
    "GET home": _PUBLIC,
    "GET events:detail": _PUBLIC,
    "GET events:detail_slug": _PUBLIC,
    "GET events:timetable": _PUBLIC,
    "GET events:calendar": _PUBLIC,
    "GET api:get_event": _PUBLIC,
    "GET api:event_tickets": _PUBLIC,
    "GET api:event_sessions_list": _PUBLIC,
    "GET api:seats": _PUBLIC,
    "GET ticketing:seats": _PUBLIC,
    "POST api:scan": _SCAN,
    "POST api:sync": _SCAN,
    "POST checkin:scan": _SCAN,
    "POST checkin:sync": _SCAN,
    "POST checkin:link_scan": _SCAN,
    "POST checkin:link_sync": _SCAN,
    "POST api:test_webhook": ("webhook_test_user",),
    "POST notifications:webhook_action": ("webhook_test_user",),
    "POST oauth2_provider:token": ("oauth_token_ip",),
    "POST oauth2_provider:introspect": ("oauth_token_ip",),
    "GET oauth2_provider:introspect": ("oauth_token_ip",),
    "POST oauth2_provider:revoke-token": ("oauth_token_ip",),
}
# X-Forwarded-For is believed only from these addresses/networks (our load balancers).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
ACCOUNT_RATE_LIMITS = {
    # Wrong passwords: accounts/signin_guard.py, shared with the API token endpoint.
    "login_failed": None,
    "login": "300/m/ip",  # an office behind one NAT address signs in at 9 o'clock
    "signup": RATE_LIMITS["signup_ip"] + "/ip",
    "reset_password": (
        f"{RATE_LIMITS['password_reset_ip']}/ip,{RATE_LIMITS['password_reset_key']}/key"
    ),
    "reset_password_from_key": RATE_LIMITS["password_reset_ip"] + "/ip",
}

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
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# SECURE_COOKIES=0 only for plain-http local runs (`make run`); never behind https.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A strict policy: our own files only; an inline <script>/<style> needs the request's nonce
# (`{{ request.csp_nonce }}`) and inline style="" attributes and on*= handlers are refused.
# Pages served from the HTML cache (event list and page) carry no nonce, so they have no inline
# code at all. core/headers.py widens it only for the scanner (WebAssembly decoder, camera).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Features no page uses are off everywhere; the camera is allowed on SCANNER_PAGES only.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "camera": [],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "serial": [],
    "bluetooth": [],
    "display-capture": [],
}
SCANNER_PAGES = {"checkin:scanner", "checkin:link_scanner"}

# --- I18N, static --------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
FORMAT_MODULE_PATH = ["config.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Third-party browser code comes from npm (package-lock.json), never pasted into the repo.
    ("vendor/barcode-detector", BASE_DIR / "node_modules" / "barcode-detector" / "dist" / "es"),
    ("vendor/zxing-wasm", BASE_DIR / "node_modules" / "zxing-wasm" / "dist"),
    ("vendor/uplot", BASE_DIR / "node_modules" / "uplot" / "dist"),
]
# Uploaded pictures: the filesystem by default; any S3-compatible store (AWS, MinIO, R2, ...)
# when a bucket is named. Credentials come from the environment, read by boto3 itself.
MEDIA_URL = os.environ.get("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    MEDIA_STORAGE: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "custom_domain": os.environ.get("AWS_S3_CUSTOM_DOMAIN") or None,
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", False),
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
else:
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Django serves filesystem uploads itself unless a web server in front does (MEDIA_SERVE=0).
MEDIA_SERVE = env_bool("MEDIA_SERVE", not AWS_STORAGE_BUCKET_NAME)
STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "ops.storage.CompressedStaticStorage"
    },
}

# Source maps are for developers' tools: not worth brotli's minute of CPU at collectstatic.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [
    *("jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "tbz", "xz", "br"),
    *("swf", "flv", "woff", "woff2", "3gp", "3gpp", "asf", "avi", "m4v", "mov", "mp4"),
    *("mpeg", "mpg", "webm", "wmv", "map"),
]

# JSON lines with the request id (ops/logs.py) unless LOG_FORMAT=plain; plain by default with DEBUG.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ops.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # One line per request; LOG_REQUESTS=0 silences it (gunicorn's access log is off by default).
    # WeasyPrint logs every step of every PDF at INFO.
    "loggers": {
        "boxoffice.request": {"level": "INFO" if env_bool("LOG_REQUESTS", True) else "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Operations ----------------------------------------------------------------------------
# /metrics answers a scraper on this host, or anyone sending `Authorization: Bearer <token>`.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
READYZ_OUTBOX_LAG_SECONDS = float(os.environ.get("READYZ_OUTBOX_LAG_SECONDS", "300"))
# Backups (ops/backup.py): encrypted pg_dump + signing secret, pruned after BACKUP_RETENTION_DAYS
# but never below BACKUP_RETENTION_MIN_COUNT; beat takes one daily when a key is set.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", BASE_DIR / ".data" / "backups"))
BACKUP_ENCRYPTION_KEY = os.environ.get("BACKUP_ENCRYPTION_KEY", "")
BACKUP_RETENTION_DAYS = int(os.environ.get("BACKUP_RETENTION_DAYS", "14"))
BACKUP_RETENTION_MIN_COUNT = int(os.environ.get("BACKUP_RETENTION_MIN_COUNT", "3"))
BACKUP_EVERY_SECONDS = float(os.environ.get("BACKUP_EVERY_SECONDS", str(24 * 3600)))
if BACKUP_ENCRYPTION_KEY:
    CELERY_BEAT_SCHEDULE["backup-database"] = {
        "task": "ops.tasks.backup_database",
        "schedule": BACKUP_EVERY_SECONDS,
        "options": {"queue": "celery"},
    }
PG_BIN_DIR = os.environ.get("PG_BIN_DIR", "")  # pg_dump/pg_restore; default: the embedded wheel's
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from ops.sentry import sentry_init

    sentry_init(SENTRY_DSN, environment=os.environ.get("SENTRY_ENVIRONMENT", "production"))

# --- Boxoffice -----------------------------------------------------------------------------
BOXOFFICE_HOLD_MINUTES = int(os.environ.get("BOXOFFICE_HOLD_MINUTES", "10"))
# Ed25519 private keys are stored encrypted with a key derived from this (defaults to SECRET_KEY;
# an empty value, as an env file's `BOXOFFICE_SIGNING_SECRET=` gives, counts as unset).
# The single-statement accelerator of reserving and paying (ticketing/booking/hotpath.py); off,
# every request takes the reference path. The same answers either way (tests run both).
BOXOFFICE_HOT_PATH = os.environ.get("BOXOFFICE_HOT_PATH", "1") == "1"
# register and pay with a bearer token skip the middleware only pages use (config/api_lane.py).
API_LANE = os.environ.get("API_LANE", "1") == "1"
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
# Deliveries sent over one SMTP connection with one claim and one load of what they show.
NOTIFICATIONS_BATCH_SIZE = int(os.environ.get("NOTIFICATIONS_BATCH_SIZE", "100"))
# A booking's confirmation waits up to this long for the relay run that fans out and sends every
# message committed meanwhile (one task per process per interval, not one per booking); 0: at
# once. Each run has a fixed cost (a task, a transaction, a batch load): in a rush a longer wait
# is fewer, fuller runs, and the mail is still out within seconds.
NOTIFICATIONS_RELAY_DELAY_SECONDS = float(
    os.environ.get("NOTIFICATIONS_RELAY_DELAY_SECONDS", "1.5")
)
# Messages one relay run takes; with more waiting, the next run starts on another worker
# while this one sends.
NOTIFICATIONS_RELAY_BATCH = int(os.environ.get("NOTIFICATIONS_RELAY_BATCH", "200"))
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
# Waiting room: joins per client address per minute (stops one machine farming places), and
# the key that signs queue passes (SECRET_KEY when empty).
WAITINGROOM_JOINS_PER_ADDRESS_PER_MINUTE = int(
    os.environ.get("WAITINGROOM_JOINS_PER_ADDRESS_PER_MINUTE", "30")
)
WAITINGROOM_SIGNING_KEY = os.environ.get("WAITINGROOM_SIGNING_KEY", "")

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

# --- Privacy: export, erasure, retention, consent, encryption at rest (privacy/, core/sealed) --
INSTALLED_APPS += ["privacy"]
# Keys that seal secrets stored in the database (signing keys, webhook secrets), newest first,
# comma-separated; SECRET_KEY when unset. Rotation: prepend a new key, run
# `manage.py secrets_reencrypt`, then drop the old one (core/sealed.py).
BOXOFFICE_ENCRYPTION_KEYS = [
    k.strip() for k in os.environ.get("BOXOFFICE_ENCRYPTION_KEYS", "").split(",") if k.strip()
]
# A data export's download link works this long after it is made.
PRIVACY_EXPORT_LINK_HOURS = int(os.environ.get("PRIVACY_EXPORT_LINK_HOURS", "48"))
# Organizations that never chose one keep attendee data this many days after an event ends.
PRIVACY_DEFAULT_RETENTION_DAYS = int(os.environ.get("PRIVACY_DEFAULT_RETENTION_DAYS", "730"))
CELERY_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "privacy.tasks.retention_apply",
    "schedule": 3600.0,
}

# --- OAuth2 / OpenID Connect ---------------------------------------------------------------
# Boxoffice is an OAuth2/OpenID Connect provider for /api/v1 (django-oauth-toolkit): apps acting
# for a person use the authorization code with PKCE; an organization's own servers use client
# credentials (accounts.OAuthIntegration). Which route needs which scope: accounts/scopes.py.
# People may also sign in through an external OpenID Connect provider (allauth), below.
from accounts.scopes import API_SCOPES, IDENTITY_SCOPES  # noqa: E402 - plain constants

INSTALLED_APPS += [
    "oauth2_provider",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
]


# The RSA private key (PEM) that signs ID tokens. Without it, OpenID Connect is off (plain OAuth2
# still works); with DEBUG, one is generated once into .data/ like the development SECRET_KEY.
OIDC_RSA_PRIVATE_KEY = os.environ.get("OIDC_RSA_PRIVATE_KEY", "").strip()
if not OIDC_RSA_PRIVATE_KEY and DEBUG:
    from config.devstack import oidc_signing_key

    OIDC_RSA_PRIVATE_KEY = oidc_signing_key()
# Named so migrations can point at it (accounts.OAuthIntegration); the toolkit's own model.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# Personal API tokens (POST /api/v1/auth/token) expire after this many days unless asked shorter.
PERSONAL_TOKEN_DAYS = int(os.environ.get("PERSONAL_TOKEN_DAYS", "90"))
# How long a web process may reuse a personal token's lookup: a token revoked (or its user
# deactivated) in another process keeps working that long there (accounts.services).
API_TOKEN_CACHE_SECONDS = float(os.environ.get("API_TOKEN_CACHE_SECONDS", "5"))
OAUTH2_PROVIDER = {
    "SCOPES": {**API_SCOPES, **IDENTITY_SCOPES},
    "DEFAULT_SCOPES": ["events:read"],
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.BoxofficeOAuth2Validator",
    "SCOPES_BACKEND_CLASS": "accounts.oauth.BoxofficeScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("OAUTH_ACCESS_TOKEN_SECONDS", "3600")),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    # Local apps in development may redirect to plain http; production redirects only to https.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
    "OIDC_ENABLED": bool(OIDC_RSA_PRIVATE_KEY),
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": False,
    # RFC 9700 (OAuth 2.0 Security Best Current Practice), every recommendation enforced:
    # tokens stored only as checksums, no implicit or password grant, S256 PKCE, no tokens in
    # query strings, `iss` in authorization responses.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": not DEBUG,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}


def external_oidc_login(environ: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """allauth's provider settings for signing in through an external OpenID Connect provider,
    and the origins the sign-in form may post to (it redirects there).

    OIDC_LOGIN_SERVER_URL (the issuer), OIDC_LOGIN_CLIENT_ID, OIDC_LOGIN_CLIENT_SECRET,
    OIDC_LOGIN_NAME (the button), OIDC_LOGIN_ID (in callback URLs, default `sso`);
    OIDC_LOGIN_TRUST_EMAIL=1 signs a person into the existing account with the same verified
    address (only for a provider that verifies addresses, like a company's own).
    """
    server_url = environ.get("OIDC_LOGIN_SERVER_URL", "").rstrip("/")
    if not server_url:
        return {}, []
    trust_email = env_bool_from(environ, "OIDC_LOGIN_TRUST_EMAIL")
    app = {
        "provider_id": environ.get("OIDC_LOGIN_ID", "sso"),
        "name": environ.get("OIDC_LOGIN_NAME", "Single sign-on"),
        "client_id": environ.get("OIDC_LOGIN_CLIENT_ID", ""),
        "secret": environ.get("OIDC_LOGIN_CLIENT_SECRET", ""),
        "settings": {
            "server_url": server_url,
            "oauth_pkce_enabled": True,
            "token_auth_method": "client_secret_post",
        },
    }
    parts = urlsplit(server_url)
    providers = {
        "openid_connect": {
            "APPS": [app],
            "SCOPE": ["openid", "email", "profile"],
            "EMAIL_AUTHENTICATION": trust_email,
        }
    }
    return providers, [f"{parts.scheme}://{parts.netloc}"]


def env_bool_from(environ: dict[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


SOCIALACCOUNT_PROVIDERS, _oidc_login_origins = external_oidc_login(dict(os.environ))
# The sign-in form redirects to the provider, and Chromium holds a redirect to `form-action`.
cast(list[str], CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]).extend(_oidc_login_origins)
# With a trusted provider's verified address, the external account is linked to ours for good.
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # a POST starts the sign-in, so no link can start it for you
SOCIALACCOUNT_STORE_TOKENS = False
