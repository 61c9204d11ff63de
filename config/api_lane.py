"""The rush's two API calls through Django with only the middleware they use.

`POST /api/v1/events/<id>/register` and `POST /api/v1/orders/<id>/pay` with a bearer token and
no session cookie run the same URLs, views, authentication, throttling, error envelope, headers
and request log as any request; the stack skips only what acts on pages, browser sessions or
static files and has nothing to do for such a request: WhiteNoise, gzip (the API's answers are
a few hundred bytes), sessions and their user, CSRF (a bearer token is not sent by a browser on
its own), messages, allauth, page views, the MFA gate and the page rate limits (the API counts
its own). That saved ~1 ms of CPU a purchase (register + pay) of ~10 (bench/README.md).

Anything else, a request with a session cookie included, goes through the full stack.
`API_LANE=0` sends everything there.
"""

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

# What the full stack has that these requests never need (config/settings.py MIDDLEWARE).
SKIPPED_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "ops.middleware.AnonymousGZipMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "allauth.account.middleware.AccountMiddleware",
        "analytics.middleware.EventPageViewMiddleware",
        "accounts.middleware.RequireMfaMiddleware",
        "core.ratelimit.RateLimitMiddleware",
    }
)
HOT_ROUTES = re.compile(
    r"^/api/v1/(?:events/[0-9a-fA-F-]{32,36}/register|orders/[0-9a-fA-F-]{32,36}/pay)/?$"
)

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def lane_middleware() -> list[str]:
    return [name for name in settings.MIDDLEWARE if name not in SKIPPED_MIDDLEWARE]


class ApiLaneHandler(WSGIHandler):
    """Django's WSGI handler with `lane_middleware()` instead of settings.MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE only; it is swapped for the build
        # (at start-up, before any request thread exists) and put back.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = lane_middleware()
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def takes_lane(environ: dict[str, Any]) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and HOT_ROUTES.match(environ.get("PATH_INFO", "")) is not None
        and environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer ")
        and f"{settings.SESSION_COOKIE_NAME}=" not in environ.get("HTTP_COOKIE", "")
    )


class ApiLane:
    """Send the hot API calls to `lane`, everything else to `full`."""

    def __init__(self, full: App, lane: App) -> None:
        self.full = full
        self.lane = lane

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if settings.API_LANE and takes_lane(environ):
            return self.lane(environ, start_response)
        return self.full(environ, start_response)
