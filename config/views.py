from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import cache_control, cache_page
from django.views.decorators.http import require_POST
from django.views.i18n import JavaScriptCatalog, set_language
from django.views.static import serve
from django_redis import get_redis_connection

from accounts.services import user_language_set
from config.celery import app as celery_app
from events.selectors import categories, upcoming_events


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, redirect back), and the account remembers it for mail."""
    response = set_language(request)
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=request.POST.get("language", ""))
    return response


class ScriptMessages(JavaScriptCatalog):
    """The `djangojs` catalogue of one language as a script file (`gettext`, `ngettext`,
    `interpolate` for static/js): a file, not inline script, so the CSP stays as it is. The
    language is in the URL, so browsers and the page cache keep one copy per language."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = kwargs.pop("language")
        if language not in dict(settings.LANGUAGES):
            raise Http404
        with translation.override(language):
            return super().get(request, *args, **kwargs)


script_messages = cache_control(public=True, max_age=3600)(
    cache_page(3600, key_prefix="jsi18n")(ScriptMessages.as_view())
)


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "home.html",
        {"highlights": upcoming_events()[:6], "categories": categories()},
    )


def _check(probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and compose: database, Redis and the Celery broker."""

    def database() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    def redis() -> None:
        get_redis_connection("default").ping()

    def broker() -> None:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)

    status = {"database": _check(database), "redis": _check(redis), "broker": _check(broker)}
    healthy = all(value == "ok" for value in status.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **status}, status=200 if healthy else 503
    )


def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Uploaded pictures from the filesystem; a new upload gets a new name, so cache long."""
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
