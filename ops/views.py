"""Readiness, metrics and the error pages."""

import hmac
import ipaddress
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

from core.http import is_api_request, json_error
from ops.availability import is_backend_unavailable, unavailable_response
from ops.metrics import exposition

_migrations_applied = False


def _check(probe: Callable[[], object]) -> str:
    try:
        result = probe()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return result if isinstance(result, str) else "ok"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    from django_redis import get_redis_connection

    get_redis_connection("default").ping()


def _broker() -> None:
    from config.celery import app as celery_app

    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _migrations() -> str:
    global _migrations_applied
    if _migrations_applied:  # applied once, applied until a deploy starts new processes
        return "ok"
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return f"error: {len(pending)} migrations not applied"
    _migrations_applied = True
    return "ok"


def _outbox() -> str:
    from notifications.models import Message

    oldest = (
        Message.objects.filter(status=Message.Status.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    lag = time.time() - oldest.timestamp() if oldest else 0.0
    if lag > settings.READYZ_OUTBOX_LAG_SECONDS:
        return f"error: outbox lag {lag:.0f} s"
    return "ok"


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: take traffic only with the stores up, the schema current and the outbox moving."""
    status = {
        "database": _check(_database),
        "redis": _check(_redis),
        "broker": _check(_broker),
        "migrations": _check(_migrations),
        "outbox": _check(_outbox),
    }
    ready = all(value == "ok" for value in status.values())
    response = JsonResponse(
        {"status": "ready" if ready else "not ready", **status}, status=200 if ready else 503
    )
    response["Cache-Control"] = "no-store"
    return response


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(sent.encode(), token.encode())
    # Without a token, only a scraper on this host: a request a proxy forwarded is not local
    # even though it arrives from the proxy's loopback address.
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        return JsonResponse(
            {"error": {"code": "FORBIDDEN", "message": "Metrics are for the local scraper."}},
            status=403,
        )
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return json_error(404, "NOT_FOUND", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 when the cause is PostgreSQL or Redis out of reach; never a stack trace."""
    exc = sys.exc_info()[1]
    if is_backend_unavailable(exc):
        return unavailable_response(request, exc)
    if is_api_request(request):
        return json_error(500, "INTERNAL", "Something went wrong on our side.")
    # Without the request: the failure may be in what context processors would touch.
    return HttpResponse(loader.get_template("500.html").render({}), status=500)
