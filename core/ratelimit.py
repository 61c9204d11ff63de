"""Rate limits: one policy table (settings.RATE_LIMITS), counted in Redis, applied in one place.

A policy is `"<count>/<window>"` (`"10/15m"`, `"120/m"`, `"5/30s"`). Counting is a fixed window
per key: INCR and its expiry in one Lua call, atomic under any number of gunicorn threads,
so the limit holds at a rush (a read-modify-write history list would lose counts exactly then).
`Retry-After` is the key's remaining lifetime.

Routes name their policies in settings.RATE_LIMITED_ROUTES (`"POST api:register"` ->
`("booking_buyer", "booking_ip")`): API operations through django-ninja's throttle hook
(`RouteThrottle`, after authentication, so the buyer is known), pages through
`RateLimitMiddleware`. A Redis outage lets requests through: a limiter must not take the site down.
"""

import functools
import hashlib
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django_redis import get_redis_connection
from ninja.throttling import BaseThrottle
from redis.exceptions import RedisError

from core.errors import DomainError
from core.http import client_ip, is_api_request, json_error

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@functools.lru_cache(maxsize=256)
def parse_rate(text: str) -> Rate:
    """`"10/15m"` -> Rate(10, 900). A malformed policy is a configuration error, raised early."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"Rate limit {text!r} is not '<count>/<n><s|m|h|d>'")
    count, multiple, unit = match.groups()
    return Rate(int(count), int(multiple or 1) * _UNITS[unit])


def policy(name: str) -> Rate:
    return parse_rate(settings.RATE_LIMITS[name])


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    status = 429
    message = _("Too many requests; try again later.")

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


def _key(name: str, ident: str) -> str:
    # Hashed: an identity (an email, a token) never sits in Redis in clear.
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return str(cache.make_key(f"rl:{name}:{digest}"))


def _redis() -> Any:
    return get_redis_connection("default")


# The first hit starts the window; a key that somehow lost its expiry gets one back, so a
# counter can never lock anyone out forever. One call counts every policy of a request: one
# round trip, not one per policy.
_COUNT = """
local out = {}
for i = 1, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  local ttl = redis.call('TTL', KEYS[i])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[i], ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[#out + 1] = count
  out[#out + 1] = ttl
end
return out
"""
_scripts: dict[int, Any] = {}


def _count_script(client: Any) -> Any:
    # EVALSHA with the script loaded once per client, rather than its text on every request.
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_COUNT)
    return script


def hit(name: str, ident: str) -> int:
    """Count one event for `ident` under policy `name`; 0 if allowed, else seconds to wait."""
    return hit_all([(name, ident)])


def hit_all(hits: list[tuple[str, str]]) -> int:
    """Count one event per (policy, identity); 0 if all allow it, else the longest wait."""
    if not hits:
        return 0
    rates = [policy(name) for name, _ident in hits]
    keys = [_key(name, ident) for name, ident in hits]
    try:
        client = _redis()
        counted = _count_script(client)(keys=keys, args=[rate.seconds for rate in rates])
    except RedisError:
        names = ", ".join(name for name, _ident in hits)
        logger.warning("rate limit %s not counted: Redis unavailable", names, exc_info=True)
        return 0
    waits = [0]
    for i, rate in enumerate(rates):
        count, ttl = counted[2 * i], counted[2 * i + 1]
        if count > rate.count:
            waits.append(ttl if ttl and ttl > 0 else rate.seconds)
    return max(waits)


def exceeded(name: str, ident: str) -> int:
    """Without counting: seconds to wait if `ident` has used up policy `name`, else 0."""
    rate = policy(name)
    key = _key(name, ident)
    try:
        pipe = _redis().pipeline()
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = pipe.execute()
    except RedisError:
        logger.warning("rate limit %s not checked: Redis unavailable", name, exc_info=True)
        return 0
    if count is not None and int(count) >= rate.count:
        return ttl if ttl and ttl > 0 else rate.seconds
    return 0


def count_of(name: str, ident: str) -> int:
    try:
        value = _redis().get(_key(name, ident))
    except RedisError:
        return 0
    return int(value or 0)


def clear(name: str, ident: str) -> None:
    try:
        _redis().delete(_key(name, ident))
    except RedisError:
        logger.warning("rate limit %s not cleared: Redis unavailable", name, exc_info=True)


def hold(name: str, ident: str, seconds: float) -> None:
    """Refuse `ident` under `name` for `seconds` (a back-off, not a count)."""
    try:
        _redis().set(_key(name, ident), 1, px=max(1, int(seconds * 1000)))
    except RedisError:
        logger.warning("back-off %s not set: Redis unavailable", name, exc_info=True)


def held(name: str, ident: str) -> int:
    """Seconds left of a back-off set by `hold`, 0 if none (rounded up: Retry-After is whole)."""
    try:
        millis = _redis().pttl(_key(name, ident))
    except RedisError:
        return 0
    return math.ceil(millis / 1000) if millis and millis > 0 else 0


# --- Which identity a policy counts ------------------------------------------------------------
# The suffix of a policy's name says what it counts: `_ip` the client address, `_buyer` the
# signed-in user at that address, `_device` the credential a scanner sends, `_user` the user.


def identity(name: str, request: HttpRequest) -> str | None:
    """What `name` counts for this request; None when the policy does not apply (anonymous)."""
    ip = client_ip(request)
    if name.endswith("_ip"):
        return ip
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    if name.endswith("_buyer"):
        return f"{user_id}@{ip}" if user_id is not None else ip
    if name.endswith("_user"):
        return str(user_id) if user_id is not None else ip
    if name.endswith("_device"):
        kwargs = getattr(getattr(request, "resolver_match", None), "kwargs", {}) or {}
        credential = kwargs.get("token") or request.META.get("HTTP_AUTHORIZATION", "")
        return f"dev:{credential}" if credential else f"{user_id}@{ip}"
    raise ValueError(f"Rate limit policy {name!r} must end in _ip, _buyer, _user or _device")


def route_key(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    return f"{request.method} {match.view_name}"


def route_policies(request: HttpRequest) -> Iterable[str]:
    key = route_key(request)
    return settings.RATE_LIMITED_ROUTES.get(key, ()) if key else ()


def check_route(request: HttpRequest) -> int:
    """Count this request against its route's policies; seconds to wait if one is used up."""
    hits = []
    for name in route_policies(request):
        ident = identity(name, request)
        if ident is not None:
            hits.append((name, ident))
    return hit_all(hits)


class RouteThrottle(BaseThrottle):
    """django-ninja's throttle hook, fed by the route table (it runs after authentication)."""

    def allow_request(self, request: HttpRequest) -> bool:
        self._wait = check_route(request)
        return not self._wait

    def wait(self) -> float | None:
        return float(self._wait) or None


class RateLimitMiddleware:
    """The route table for pages (API routes are counted by `RouteThrottle` instead)."""

    skip_namespaces: ClassVar[set[str]] = {"api"}

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or set(match.namespaces) & self.skip_namespaces:
            return None
        wait = check_route(request)
        if not wait:
            return None
        return too_many_requests(request, wait)


# Endpoints only programs call: they get JSON whatever they accept. The OAuth endpoints answer
# JSON by their standard; the consent page under /o/authorize/ is for people.
_MACHINE_ROUTES = frozenset(
    {"oauth2_provider:token", "oauth2_provider:introspect", "oauth2_provider:revoke-token"}
)


def _machine_route(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name in _MACHINE_ROUTES:
        return True
    return request.path.endswith(("/scan", "/sync"))


def too_many_requests(request: HttpRequest, wait: int, message: str | None = None) -> HttpResponse:
    """429 with Retry-After: JSON for JSON clients, a page for people."""
    error = RateLimited(wait, message)
    response: HttpResponse
    wants_json = "json" in request.headers.get("Accept", "")
    if wants_json or is_api_request(request) or _machine_route(request):
        response = json_error(429, error.code, error.detail_message)
    else:
        html = render_to_string(
            "429.html", {"retry_after": error.retry_after, "message": error.detail_message}, request
        )
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response
