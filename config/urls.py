from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from config.api import api
from config.views import healthz, home, media

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    # Before events: its /events/<id>/<slug>/ would swallow /events/<id>/seats/.
    path("", include("ticketing.urls")),
    path("", include("events.urls")),
    path("", include("checkin.urls")),
    path("", include("analytics.urls")),
    path("", include("waitlist.urls")),
    path("", include("notifications.urls")),
]

if settings.MEDIA_SERVE:
    # Uploaded pictures from the filesystem storage; names are unguessable and never change.
    urlpatterns.append(
        re_path(
            r"^{}(?P<path>.*)$".format(settings.MEDIA_URL.lstrip("/")),
            media,
        )
    )
