"""gunicorn's gthread worker, except that what gunicorn refuses on its own speaks JSON too.

A request line or header block over gunicorn's limits never reaches Django, so the error
contract (core.middleware) cannot shape it; gunicorn would answer an HTML page. The request was
not parsed, so its path is unknown: the JSON envelope is the answer for every path (a person's
browser never sends an 8 KB request line; API clients do, by accident).
"""

import json
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

_LIMIT_ERRORS = {
    LimitRequestLine: (414, "URI Too Long", "URI_TOO_LONG", "The request line is too long."),
    LimitRequestHeaders: (
        431,
        "Request Header Fields Too Large",
        "HEADERS_TOO_LARGE",
        "The request headers are too large.",
    ),
}


def limit_error_response(exc: Exception) -> bytes | None:
    """The raw HTTP response for a request over one of gunicorn's limits, else None."""
    for error_type, (status, reason, code, message) in _LIMIT_ERRORS.items():
        if isinstance(exc, error_type):
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
            head = (
                f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            return head.encode("latin-1") + body
    return None


class JsonErrorsThreadWorker(ThreadWorker):
    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        response = limit_error_response(exc)
        if response is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, response)
        except OSError:
            self.log.debug("Failed to send error message.")
