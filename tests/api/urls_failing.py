"""The site's URLs plus one plain Django view under /api/ that crashes (not an API operation)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("crashed on purpose")


urlpatterns = [path("api/v1/_crash", crash), *site_urlpatterns]
