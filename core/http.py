"""Request types for handlers that only run for a signed-in user (pages and the API), and who
sent a request."""

import functools
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest

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
