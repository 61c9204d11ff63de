from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from config.api import api
from config.views import healthz, home, language_set, media, script_messages
from ops.views import metrics, readyz

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("privacy.urls")),  # before accounts: both live under /account/
    path("account/", include("accounts.urls")),
    # OAuth2 / OpenID Connect provider: consent, tokens, revocation, introspection, discovery.
    path("o/", include("accounts.oauth_urls")),
    path("i18n/setlang/", language_set, name="set_language"),  # the switcher on every page
    path("i18n/<str:language>.js", script_messages, name="script_messages"),  # for static/js
    path("api/v1/", api.urls),
    # Before events: its /events/<id>/<slug>/ would swallow /events/<id>/seats/.
    path("", include("ticketing.urls")),
    path("", include("events.urls")),
    path("", include("checkin.urls")),
    path("", include("analytics.urls")),
    path("", include("waitlist.urls")),
    path("", include("notifications.urls")),
    path("", include("waitingroom.urls")),
    path("", include("vouchers.urls")),
    path("", include("invoicing.urls")),
]

# The API answers JSON even here; pages get the project's own templates, and a database that
# cannot be reached is a 503 with Retry-After, not a 500.
handler404 = "ops.views.page_not_found"
handler500 = "ops.views.server_error"

if settings.MEDIA_SERVE:
    # Uploaded pictures from the filesystem storage; names are unguessable and never change.
    urlpatterns.append(
        re_path(
            r"^{}(?P<path>.*)$".format(settings.MEDIA_URL.lstrip("/")),
            media,
        )
    )
