"""When PostgreSQL cannot be reached: answer 503 with Retry-After, and drop broken connections.

Redis is asked with a short timeout and every request-path use of it has a fallback (usually
PostgreSQL); what has none — the waiting room's own queue, which lives in Redis — answers the
same 503 rather than a 500.

Django closes a connection that saw an error at the end of the request (when
`close_if_unusable_or_obsolete` finds it unusable), and CONN_HEALTH_CHECKS tests a reused one
before its first query, so the next request after PostgreSQL returns connects afresh. Here the
broken connection is closed at once, so no later query of this same request reuses it either.
"""

import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template import loader
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.http import is_api_request, json_error
from ops.metrics import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Connection lost or refused, server going down, too many clients: not the caller's fault."""
    return isinstance(exc, OperationalError | InterfaceError)


def is_redis_unavailable(exc: BaseException | None) -> bool:
    """Redis refused, frozen past its socket timeout, or gone: the caller should retry soon."""
    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def is_backend_unavailable(exc: BaseException | None) -> bool:
    return is_database_unavailable(exc) or is_redis_unavailable(exc)


def close_broken_connections() -> None:
    for connection in connections.all(initialized_only=True):
        try:
            connection.close_if_unusable_or_obsolete()
        except Exception:
            logger.debug("closing a broken connection failed", exc_info=True)


def unavailable_response(request: HttpRequest, exc: BaseException | None = None) -> HttpResponse:
    """503 with Retry-After: the API's error shape for API paths, a friendly page for the rest."""
    if is_redis_unavailable(exc):
        logger.warning("redis unavailable: %s", exc)
    else:
        DATABASE_UNAVAILABLE.inc()
        logger.warning("database unavailable: %s", exc)
        close_broken_connections()
    response: HttpResponse
    if is_api_request(request):
        response = json_error(
            503,
            "UNAVAILABLE",
            "The service is briefly unavailable; try again in a few seconds.",
        )
    else:
        # Rendered without the request: context processors would query the missing database.
        body = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
