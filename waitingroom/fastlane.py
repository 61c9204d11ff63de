"""The waiting room before Django: a WSGI layer for the two requests a rush repeats most.

Tens of thousands of visitors open the waiting page (`GET /queue/<event>/`) once and then poll
`GET /queue/<event>/status` every few seconds.

The poll needs only the signed visitor cookie and one Redis script call, so the lane builds it
with the view's own `poll.status_response` and skips the middleware stack.

The page is the view's own answer too: for a visitor without a session cookie (a newcomer, or
anyone who never signed in) the lane runs `views.room` through Django's middleware minus those
that have nothing to do for such a request: no session to load or save, no account to look up
(the visitor is anonymous), no messages stored for them, no rate-limited route, no MFA, no event
page view to count. The request observability layer is left out as for the poll (FastLaneMetrics
counts what the lanes answer). What the page reads of its event comes from Redis
(`services.room_page`), so an arrival costs no database query.

Anything the lane is unsure of (another method, a path the URL converter would not accept, a
session or message cookie, a room Redis does not know, Redis failing) goes to Django unchanged.
"""

import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponseBase
from django.http.cookie import parse_cookie
from django.urls import ResolverMatch
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from waitingroom import passes, poll, services, views

logger = logging.getLogger(__name__)

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# What Django's <uuid:...> converter accepts, so the lane answers exactly the URLs the views do.
STATUS_PATH = re.compile(rf"^/queue/({_UUID})/status$")
ROOM_PATH = re.compile(rf"^/queue/({_UUID})/$")
# Set on every poll answer, as Django's SecurityMiddleware does for the view: a browser must not
# sniff the JSON into something else.
SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff")]

# Middleware the page lane leaves out, and why each does nothing for a GET of the waiting page
# without a session or message cookie. Everything else in settings.MIDDLEWARE runs, in order.
SESSIONLESS_SKIPS = {
    "ops.middleware.RequestObservabilityMiddleware": "FastLaneMetrics observes the lanes",
    "core.middleware.ErrorContractMiddleware": "an error falls back to Django, which has it",
    "whitenoise.middleware.WhiteNoiseMiddleware": "serves /static/ only",
    "django.contrib.sessions.middleware.SessionMiddleware": "no session cookie, none is saved",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "no session: anonymous",
    "django.contrib.messages.middleware.MessageMiddleware": "no message cookie, none is added",
    "allauth.account.middleware.AccountMiddleware": "no session: no login in progress",
    "analytics.middleware.EventPageViewMiddleware": "counts event pages, not this one",
    "accounts.middleware.RequireMfaMiddleware": "anonymous: no MFA to ask for",
    "core.ratelimit.RateLimitMiddleware": "the page is no rate-limited route; it limits joins",
}

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def lane_middleware() -> list[str]:
    return [path for path in settings.MIDDLEWARE if path not in SESSIONLESS_SKIPS]


def _sessionless_handler() -> Callable[[HttpRequest], HttpResponseBase]:
    """Django's middleware chain around the view, as BaseHandler builds it, except that an
    exception is not turned into a response here: it reaches the lane, which hands the request
    to Django. The lane matched the view's route itself (Django's resolver tries every route
    before this one)."""

    def view(request: HttpRequest) -> HttpResponseBase:
        match = cast(ResolverMatch, request.resolver_match)  # set by the lane for ROOM_PATH
        response: HttpResponseBase = match.func(request, *match.args, **match.kwargs)
        return response

    handler: Callable[[HttpRequest], HttpResponseBase] = view
    for path in reversed(lane_middleware()):
        handler = import_string(path)(handler)
    return handler


class QueueFastLane:
    def __init__(self, app: App) -> None:
        self.app = app
        self.page = _sessionless_handler()
        self.refused_cookies = {settings.SESSION_COOKIE_NAME, CookieStorage.cookie_name}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET":
            match = STATUS_PATH.match(path)
            if match is not None:
                return self._poll(uuid.UUID(match.group(1)), environ, start_response)
            match = ROOM_PATH.match(path)
            if match is not None:
                return self._page(uuid.UUID(match.group(1)), environ, start_response)
        return self.app(environ, start_response)

    def _poll(
        self, event_id: uuid.UUID, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        visitor_token = parse_cookie(environ.get("HTTP_COOKIE", "")).get(
            passes.visitor_cookie(event_id)
        )
        try:
            response = poll.status_response(event_id, visitor_token)
        except RedisError:
            return self.app(environ, start_response)  # Django answers, and logs, the same way
        headers = [*response.items(), *SECURITY_HEADERS, *_cookie_headers(response)]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [response.content]

    def _page(
        self, event_id: uuid.UUID, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if self.refused_cookies & parse_cookie(environ.get("HTTP_COOKIE", "")).keys():
            return self.app(environ, start_response)
        try:
            published = services.room_page_published(event_id) is not None
        except RedisError:
            published = False
        if not published:
            return self.app(environ, start_response)  # Django asks PostgreSQL, or says 503
        try:
            request = WSGIRequest(environ)
            request.user = AnonymousUser()
            request.resolver_match = ResolverMatch(
                views.room,
                (),
                {"event_id": event_id},
                url_name="room",
                app_names=["waitingroom"],
                namespaces=["waitingroom"],
                route="queue/<uuid:event_id>/",
            )
            response = self.page(request)
        except Exception:
            # Whatever went wrong, Django answers it with its error handling and logging.
            logger.warning("waiting page lane fell back to Django", exc_info=True)
            return self.app(environ, start_response)
        headers = [*response.items(), *_cookie_headers(response)]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [getattr(response, "content", b"")]


def _cookie_headers(response: HttpResponseBase) -> Iterable[tuple[str, str]]:
    return (("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values())
