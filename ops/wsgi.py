"""Metrics for the WSGI fast lanes, which answer some requests before Django (and its
middleware) runs: their latency, and the sold-out answers they give during a rush."""

import time
from collections.abc import Callable, Iterable
from typing import Any

from ops.metrics import REQUEST_DURATION, booking_outcome

REACHED_DJANGO = "boxoffice.reached_django"

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def reaching_django(app: App) -> App:
    """Wrap Django's application: marks requests that the fast lanes passed on."""

    def marked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[REACHED_DJANGO] = True
        return app(environ, start_response)

    return marked


class FastLaneMetrics:
    """Outermost layer: observes only what a fast lane answered itself."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()

        def observed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not environ.get(REACHED_DJANGO):
                code = int(status[:3])
                REQUEST_DURATION.labels(
                    method=environ.get("REQUEST_METHOD", "OTHER"),
                    route="fastlane",
                    status=f"{code // 100}xx",
                ).observe(time.perf_counter() - started)
                if code == 409 and environ.get("PATH_INFO", "").endswith(
                    ("/register", "/register/")
                ):
                    booking_outcome("sold_out")
            return start_response(status, headers, exc_info)

        return self.app(environ, observed)
