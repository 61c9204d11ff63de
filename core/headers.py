"""Permissions-Policy for every response, and the one page that may use the camera.

Django's SecurityMiddleware sends HSTS, nosniff, Referrer-Policy and COOP; django-csp sends the
Content-Security-Policy. What neither does lives here: Permissions-Policy, and widening both
for the door scanner (settings.SCANNER_PAGES), which needs the camera and compiles its
barcode decoder from WebAssembly.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def permissions_policy(allow: dict[str, list[str]] | None = None) -> str:
    features = dict(settings.PERMISSIONS_POLICY)
    features.update(allow or {})
    return ", ".join(f"{name}=({' '.join(origins)})" for name, origins in features.items())


class PagePermissionsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.default = permissions_policy()
        self.scanner = permissions_policy({"camera": ["self"]})

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and match.view_name in settings.SCANNER_PAGES:
            response.headers["Permissions-Policy"] = self.scanner
            # django-csp reads this on the way out: the decoder is WebAssembly.
            response._csp_update = {  # type: ignore[attr-defined]
                "script-src": ["'wasm-unsafe-eval'"]
            }
        else:
            response.headers.setdefault("Permissions-Policy", self.default)
        return response
