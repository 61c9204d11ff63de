"""Per request: a request id in and out, a latency observation by route, one JSON log line,
and the booking outcomes the API answered."""

import json
import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware

from ops.context import HEADER, accepted_request_id, request_id
from ops.metrics import OUTCOME_OF_ERROR, REQUEST_DURATION, booking_outcome

logger = logging.getLogger("boxoffice.request")

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (bounded label values), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "static" if request.path.startswith("/static/") else "unmatched"
    return match.route or match.view_name or "unmatched"


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = accepted_request_id(request.headers.get(HEADER))
        token = request_id.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            route = route_of(request)
            method = request.method if request.method in METHODS else "OTHER"
            REQUEST_DURATION.labels(
                method=method, route=route, status=f"{response.status_code // 100}xx"
            ).observe(elapsed)
            if response.status_code in (402, 409) and route.startswith("api/"):
                _count_booking_refusal(response)
            response[HEADER] = rid
            logger.info(
                "%s %s %s",
                method,
                route,
                response.status_code,
                extra={"status": response.status_code, "duration_ms": round(elapsed * 1000, 1)},
            )
            return response
        finally:
            request_id.reset(token)


def _count_booking_refusal(response: HttpResponse) -> None:
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return
    if code in OUTCOME_OF_ERROR:
        booking_outcome(OUTCOME_OF_ERROR[code])


class AnonymousGZipMiddleware(GZipMiddleware):
    """gzip dynamic answers that hold no secret worth a BREACH attack.

    BREACH recovers a secret from the compressed size of pages that also reflect
    attacker-chosen text, when the attacker can make the victim's browser send requests with
    its cookies. So: compress answers to requests without a session cookie (anonymous pages,
    the API with its bearer tokens, which a browser never adds on its own), and leave the pages
    of a signed-in session uncompressed. Static files are compressed ahead of time (WhiteNoise).
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        from django.conf import settings

        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            return response
        return super().process_response(request, response)
