from django.contrib import admin
from django.urls import include, path

from config.api import api
from config.views import healthz, home, language_set

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", language_set, name="set_language"),  # the switcher on every page
    path("api/v1/", api.urls),
    # Before events: its /events/<id>/<slug>/ would swallow /events/<id>/seats/.
    path("", include("ticketing.urls")),
    path("", include("events.urls")),
    path("", include("checkin.urls")),
    path("", include("analytics.urls")),
    path("", include("waitlist.urls")),
    path("", include("notifications.urls")),
    path("", include("vouchers.urls")),
    path("", include("invoicing.urls")),
]
