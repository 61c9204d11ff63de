"""The waiting page's poll before Django: a WSGI layer for the request a queue repeats most.

Tens of thousands of visitors poll `GET /queue/<event>/status` every few seconds. The answer
needs only the signed visitor cookie and one Redis script call, so the lane builds it with the
view's own `poll.status_response` and skips the middleware stack (sessions, auth, locale, CSP),
none of which the answer uses. Anything it is unsure of (another method, a path the URL
converter would not accept, Redis failing) goes to Django unchanged.
"""

import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.http.cookie import parse_cookie
from redis.exceptions import RedisError

from waitingroom import passes, poll

# What Django's <uuid:...> converter accepts, so the lane answers exactly the URLs the view does.
STATUS_PATH = re.compile(
    r"^/queue/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/status$"
)
# Set on every answer, as Django's SecurityMiddleware does for the view: a browser must not
# sniff the JSON into something else.
SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff")]

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class QueuePollFastLane:
    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = STATUS_PATH.match(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        event_id = uuid.UUID(match.group(1))
        visitor_token = parse_cookie(environ.get("HTTP_COOKIE", "")).get(
            passes.visitor_cookie(event_id)
        )
        try:
            response = poll.status_response(event_id, visitor_token)
        except RedisError:
            return self.app(environ, start_response)  # Django answers, and logs, the same way
        headers = [
            *response.items(),
            *SECURITY_HEADERS,
            *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
        ]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [response.content]
