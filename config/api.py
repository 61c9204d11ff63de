"""The JSON API at /api/v1/: one router per app, one error shape for everything.

Errors are always {"error": {"code": ..., "message": ...}}; domain errors keep their stable code.
"""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.openapi.schema import OpenAPISchema
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import DomainError, NotFound
from core.middleware import payload_too_large
from core.ratelimit import RouteThrottle
from ops.availability import unavailable_response

logger = logging.getLogger(__name__)


ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            # VALIDATION_ERROR adds `fields`, domain errors may add `details`.
            "additionalProperties": True,
        }
    },
}

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON or a request a rule refuses (MALFORMED_JSON, ...)",
    401: "No valid token (UNAUTHENTICATED), or wrong credentials (INVALID_CREDENTIALS)",
    402: "The payment was declined (PAYMENT_DECLINED)",
    403: "Signed in but not allowed (FORBIDDEN)",
    404: "Not found, or not yours to see (NOT_FOUND)",
    409: "Refused by the current state (SOLD_OUT, ...)",
    422: "Invalid input (VALIDATION_ERROR, with `fields`)",
    429: "Too many requests (RATE_LIMITED), with Retry-After",
    503: "Busy or unavailable for a moment (BUSY, UNAVAILABLE), with Retry-After",
}


# Refusals a route's own service raises that the rules below cannot infer from its shape.
ERRORS_OF_OPERATION = {
    "accounts_api_token": {401},
    "ticketing_api_pay": {402},
}


def error_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from what it takes and who may call it."""
    # Every route may be limited by settings.RATE_LIMITED_ROUTES; a locked row or a database
    # restart is a 503 with Retry-After anywhere.
    statuses = {429, 503, *ERRORS_OF_OPERATION.get(operation.get("operationId", ""), ())}
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        statuses |= {400, 422}
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses.add(404)
    if operation.get("security"):
        statuses |= {401, 403, 404}
    if method != "get":
        statuses.add(409)
    return statuses


def document_error_responses(schema: dict[str, Any]) -> None:
    """Add the error envelope to every operation for each error status it can answer, so a
    client (and schemathesis) knows the shape of a refusal, not only of a success."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_ENVELOPE
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            # A route that describes its own success in openapi_extra adds a string key next to
            # ninja's integer one; JSON would carry both as duplicate keys.
            for status in [key for key in responses if isinstance(key, int)]:
                described = responses.pop(status)
                responses.setdefault(str(status), described)
            for status in sorted(error_statuses(method, operation)):
                responses.setdefault(
                    str(status),
                    {"description": ERROR_DESCRIPTIONS[status], "content": error_content},
                )


class BoxofficeApi(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        document_error_responses(schema)
        return schema


api = BoxofficeApi(
    title="Boxoffice API",
    version="1",
    urls_namespace="api",
    description="Events, booking, payment and check-in. Authenticate with `Authorization: "
    "Bearer <token>` from POST /auth/token. Writes take an idempotency_key. Busy routes are "
    "rate limited: 429 RATE_LIMITED with Retry-After.",
    # Each route's limits come from settings.RATE_LIMITED_ROUTES; routes not named there pass.
    throttle=[RouteThrottle()],
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, **extra: Any
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = [
        {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    message = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields)
    return error_response(
        request, 422, "VALIDATION_ERROR", message or _("Invalid input."), fields=fields
    )


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, 401, "UNAUTHENTICATED", _("Send a valid token: Authorization: Bearer <token>.")
    )


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # ninja adds Retry-After to this response from the throttle's wait().
    return error_response(request, 429, "RATE_LIMITED", _("Too many requests; try again later."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = "MALFORMED_JSON" if exc.status_code == 400 else f"HTTP_{exc.status_code}"
    return error_response(request, exc.status_code, code, str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "NOT_FOUND", NotFound().detail_message)


@api.exception_handler(DataError)
def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    # Input PostgreSQL refuses to store or compare (a NUL character in a string, say) is the
    # client's mistake; one handler here instead of a NUL check on every string field.
    return error_response(
        request, 422, "VALIDATION_ERROR", _("The input contains a value that cannot be used.")
    )


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
@api.exception_handler(RedisConnectionError)
@api.exception_handler(RedisTimeoutError)
def on_backend_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    # PostgreSQL down, restarting or out of connections, or Redis where nothing can stand in
    # for it: the client should come back shortly.
    return unavailable_response(request, exc)


@api.exception_handler(RequestDataTooBig)
def on_request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return payload_too_large(request)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled API error", exc_info=exc)
    return error_response(request, 500, "INTERNAL", _("Something went wrong on our side."))


def _register_routers() -> None:
    from accounts.api import router as accounts_router
    from analytics.api import router as organizer_router
    from checkin.api import router as checkin_router
    from events.api import router as events_router
    from notifications.api import router as notifications_router
    from ticketing.api import public_router as seating_router
    from ticketing.api import router as ticketing_router
    from waitlist.api import router as waitlist_router

    api.add_router("/auth", accounts_router)
    api.add_router("/", events_router)
    api.add_router("/", ticketing_router)
    api.add_router("/", seating_router)
    api.add_router("/checkin", checkin_router)
    api.add_router("/", notifications_router)
    api.add_router("/", waitlist_router)
    api.add_router("/", organizer_router)


_register_routers()
