"""gunicorn's gthread worker, with two changes.

What gunicorn refuses on its own speaks JSON too. A request line or header block over gunicorn's
limits never reaches Django, so the error contract (core.middleware) cannot shape it; gunicorn
would answer an HTML page. The request was not parsed, so its path is unknown: the JSON
envelope is the answer for every path (a person's browser never sends an 8 KB request line; API
clients do, by accident).

New connections go to the worker that holds the fewest. Every worker waits on the one listening
socket and whichever wakes first accepts, and a kept-alive connection stays with that worker
for all its requests: 20 clients were seen split 18 / 2 over two workers and 8 / 7 / 5 over
three, and the clients of the fuller worker waited longest (a run's p50 60 ms, its p95 270 ms).
So each worker publishes how many connections it holds in memory the master shares with all of
them, and one that holds more than the emptiest worker (and has no idle thread) steps back from
the socket for a moment, so that the emptier one takes the connection.
"""

import json
import multiprocessing
import threading
import time
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


# One slot per worker: how many connections it holds, or -1 for a slot no worker uses. Made in
# the master when it loads this class, so every forked worker shares the same memory.
_SLOTS = 64
_connections = multiprocessing.RawArray("i", [-1] * _SLOTS)
# How long a fuller worker leaves a waiting connection to the others, and how many times in a
# row: a bound, so that a connection is taken even when the emptiest worker is stuck.
ACCEPT_DEFER_S = 0.003
ACCEPT_DEFERS_MAX = 5


def accept_defers(mine: int, everyone: list[int], threads: int) -> bool:
    """Whether a worker holding `mine` connections (with `threads` threads) should leave a new
    one to another worker, given every live worker's count (its own included)."""
    return mine >= threads and mine > min(everyone)


def _wake(worker: "JsonErrorsThreadWorker") -> None:
    worker.method_queue.defer(lambda: None)


class JsonErrorsThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # In the master, before the fork: take a free slot (a dead worker's was freed by
        # `release_slot` in gunicorn's child_exit hook).
        self.slot: int | None = next((i for i in range(_SLOTS) if _connections[i] < 0), None)
        if self.slot is not None:
            _connections[self.slot] = 0
        self._hold_until = 0.0
        self._defers = 0
        super().__init__(*args, **kwargs)

    @property
    def nr_conns(self) -> int:
        return self._nr_conns

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        # gthread counts its connections here on every open and close: publish each change.
        self._nr_conns = value
        if self.slot is not None:
            _connections[self.slot] = value

    def release_slot(self) -> None:
        """In the master, once this worker has exited."""
        if self.slot is not None:
            _connections[self.slot] = -1

    def set_accept_enabled(self, enabled: bool) -> None:
        if enabled and time.monotonic() < self._hold_until:
            enabled = False
        super().set_accept_enabled(enabled)

    def accept(self, listener: Any) -> None:
        everyone = [count for count in _connections if count >= 0]
        if (
            self.slot is not None
            and self._defers < ACCEPT_DEFERS_MAX
            and accept_defers(self.nr_conns, everyone, self.cfg.threads)
        ):
            self._defers += 1
            self._hold_until = time.monotonic() + ACCEPT_DEFER_S
            self.set_accept_enabled(False)
            # The run loop re-enables accepting on its next turn after the hold: wake it then.
            timer = threading.Timer(ACCEPT_DEFER_S, _wake, args=(self,))
            timer.daemon = True
            timer.start()
            return
        self._defers = 0
        super().accept(listener)

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
