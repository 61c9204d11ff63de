"""The Redis admission gate in front of the inventory row locks.

Per tier, Redis keeps an estimate of the tickets left. A buyer takes from it atomically (Lua)
before touching PostgreSQL, so once a tier is gone the rush is answered SOLD_OUT by Redis alone,
and at most as many buyers as there are tickets go on to contend for the row lock.

PostgreSQL stays the truth. The estimate may run high (a crashed request, a sync racing a sale):
then PostgreSQL refuses, and we re-sync. It must not run low for long, so every refusal after a
take gives the take back, releases give back, and `gate_sync` rebuilds counters from the
database periodically and on start-up. When Redis is down, the gate steps aside for a few
seconds at a time and booking goes straight to PostgreSQL: slower, still correct.
"""

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from events.models import Event, TicketTier
from ticketing.errors import SoldOut

logger = logging.getLogger(__name__)

ELECTED = -4  # short, and this request is the one (per event, per second) to look for
# expired holds nobody has released yet, so a lagging beat worker cannot leave seats unsold
ADMITTED_COPY = -3  # short, but a copy of this request was admitted: PostgreSQL answers it
UNKNOWN = -2  # no counter for this tier yet
SHORT = -1  # not enough left
COUNTER_TTL = 7 * 24 * 3600
# An admitted request's key is remembered as long as its retries must get their order back
# (the idempotency window), not SOLD_OUT; ticketing.booking.fastlane relies on it too.
ADMITTED_TTL = 24 * 3600
RETRY_AFTER_FAILURE_S = 5.0

# KEYS: counter, the event's once-a-second election, the request's admitted mark (optional).
_TAKE = """
local n = tonumber(ARGV[1])
local v = redis.call('GET', KEYS[1])
if not v then return -2 end
if tonumber(v) < n then
  if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return -3 end
  if redis.call('SET', KEYS[2], 1, 'NX', 'EX', 1) then return -4 end
  return -1
end
if KEYS[3] then redis.call('SET', KEYS[3], 1, 'EX', ARGV[2]) end
return redis.call('DECRBY', KEYS[1], n)
"""
_GIVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return -2
"""


class GateShort(SoldOut):
    """Sold out by the gate's count; `elected`: this caller should look for expired holds."""

    def __init__(self, *, tier_id: str, elected: bool) -> None:
        super().__init__(tier_id=tier_id)
        self.elected = elected


_down_until = 0.0
_scripts: dict[str, Any] = {}


def counter_key(event_id: Any, tier_id: Any) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:gate:{event_id}:{tier_id}"


def admitted_key(counter: str, idempotency_key: str) -> str:
    """Marks that a request with this key was admitted for a tier (keys of different buyers
    may collide: that only sends a request on to PostgreSQL, which answers it correctly)."""
    return f"{counter}:admitted:{idempotency_key}"


def redis_client() -> Any | None:
    """The Redis client, or None while Redis is considered down."""
    if time.monotonic() < _down_until or getattr(settings, "BOXOFFICE_GATE_DISABLED", False):
        return None
    return get_redis_connection("default")


def failed(exc: Exception) -> None:
    global _down_until
    _down_until = time.monotonic() + RETRY_AFTER_FAILURE_S
    logger.warning("admission gate off for %.0f s: %s", RETRY_AFTER_FAILURE_S, exc)


def failure_forget() -> None:
    """Consider Redis up again now. The failure mark is per process, so a test suite clears it
    between tests: one test's Redis timeout must not switch the gate off in the next."""
    global _down_until
    _down_until = 0.0


def script(client: Any, name: str, source: str) -> Any:
    if name not in _scripts:
        _scripts[name] = client.register_script(source)
    return _scripts[name]


def gate_take(
    event_id: Any, wanted: Mapping[str, int], *, request: str | None = None
) -> dict[str, int] | None:
    """Take the wanted quantities (what was taken), None if Redis is down; SoldOut if short.

    Tiers without a counter yet pass (their take is not recorded, so nothing is given back),
    and so does a concurrent copy of an admitted `request` (its idempotency key) when
    the tier is short: the first copy may hold the last tickets, and the copy must get its
    order from PostgreSQL, not SOLD_OUT.
    """
    client = redis_client()
    if client is None:
        return None
    taken: dict[str, int] = {}
    try:
        take = script(client, "take", _TAKE)
        for tier_id in sorted(wanted):
            counter = counter_key(event_id, tier_id)
            keys = [counter, f"{counter_key(event_id, 'expired-holds')}:check"]
            if request is not None:
                keys.append(admitted_key(counter, request))
            left = take(keys=keys, args=[wanted[tier_id], ADMITTED_TTL])
            if left in (SHORT, ELECTED):
                gate_give(event_id, taken)
                raise GateShort(tier_id=tier_id, elected=left == ELECTED)
            if left not in (UNKNOWN, ADMITTED_COPY):
                taken[tier_id] = wanted[tier_id]
    except RedisError as exc:
        failed(exc)
        return None
    return taken


def gate_give(event_id: Any, taken: Mapping[str, int] | None) -> None:
    """Give back what gate_take took (for a refusal, a release or an expiry)."""
    if not taken:
        return
    client = redis_client()
    if client is None:
        return
    try:
        give = script(client, "give", _GIVE)
        for tier_id, quantity in taken.items():
            if quantity:
                give(keys=[counter_key(event_id, tier_id)], args=[quantity])
    except RedisError as exc:
        failed(exc)


def gate_sync(*, event_ids: Iterable[Any] | None = None) -> int:
    """Rebuild counters from PostgreSQL for on-sale events (or the given ones); returns how many."""
    client = redis_client()
    if client is None:
        return 0
    tiers = TicketTier.objects.filter(
        event__status=Event.Status.PUBLISHED, event__ends_at__gt=timezone.now()
    )
    if event_ids is not None:
        tiers = tiers.filter(event_id__in=list(event_ids))
    rows = tiers.annotate(left=F("capacity") - F("sold_count")).values_list(
        "event_id", "pk", "left"
    )
    try:
        with client.pipeline(transaction=False) as pipe:
            count = 0
            for event_id, tier_id, left in rows.iterator():
                pipe.set(counter_key(event_id, tier_id), max(left, 0), ex=COUNTER_TTL)
                count += 1
            pipe.execute()
    except RedisError as exc:
        failed(exc)
        return 0
    return count


def gate_took(event_id: Any, taken: Mapping[str, int]) -> None:
    """Record tickets taken without asking the gate first (chosen seats): the count follows."""
    gate_give(event_id, {tier_id: -quantity for tier_id, quantity in taken.items()})
