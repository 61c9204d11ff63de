"""Request types for handlers that only run for a signed-in user (pages and the API), and who
sent a request."""

import functools
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.http.cookie import parse_cookie
from django.utils import translation

if TYPE_CHECKING:
    # Only for annotations: core imports no app at run time.
    from accounts.models import User


class AuthedRequest(HttpRequest):
    """A page request behind @login_required."""

    user: "User"


class ApiRequest(HttpRequest):
    """An API request behind bearer auth: `auth` is the token's user."""

    auth: "User"
    user: "User"


@functools.cache
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: IPv4Address | IPv6Address) -> bool:
    networks = _trusted_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The address of the client: X-Forwarded-For is believed only from a trusted proxy.

    Walking the header from the right and skipping our own proxies gives the first address a
    trusted hop saw; anything left of that was written by the client and can be spoofed.
    """
    peer = request.META.get("REMOTE_ADDR", "") or ""
    try:
        hop = ip_address(peer)
    except ValueError:
        return peer
    if not _is_trusted(hop):
        return str(hop)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        try:
            hop = ip_address(entry)
        except ValueError:
            break  # a garbled entry: trust nothing further left
        if not _is_trusted(hop):
            return str(hop)
    return str(hop)


# Everything under this prefix speaks JSON, errors included.
API_PREFIX = "/api/"

# Stable codes for errors that come from HTTP itself rather than from a service.
HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    429: "RATE_LIMITED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

HTTP_ERROR_MESSAGES = {
    400: "The request could not be understood.",
    401: "Send a valid token: Authorization: Bearer <token>.",
    403: "You are not allowed to do that.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    414: "The request line is too long.",
    429: "Too many requests; slow down.",
    500: "Something went wrong on our side.",
    503: "The service is unavailable; try again in a moment.",
}


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def json_error(status: int, code: str | None = None, message: str | None = None) -> JsonResponse:
    """The API's error envelope: {"error": {"code": ..., "message": ...}}."""
    return JsonResponse(
        {
            "error": {
                "code": code or HTTP_ERROR_CODES.get(status, f"HTTP_{status}"),
                "message": message or HTTP_ERROR_MESSAGES.get(status, "The request failed."),
            }
        },
        status=status,
    )


def in_asked_language(environ: dict[str, Any]) -> translation.override:
    """Speak the language LocaleMiddleware would choose for this request (the language cookie,
    then Accept-Language), for an answer a WSGI fast lane writes before Django runs: a thread
    keeps the language of the last request it served, which may be another visitor's."""
    seen = SimpleNamespace(COOKIES=parse_cookie(environ.get("HTTP_COOKIE", "")), META=environ)
    return translation.override(translation.get_language_from_request(cast(HttpRequest, seen)))
