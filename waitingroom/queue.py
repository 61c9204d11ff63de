"""The queue itself, in Redis: who is where, how many are through, and at what pace.

Per event, one sorted set holds every visitor once. A visitor who arrives before the opening
gets a random score in [0, 1) when they first arrive, fixed from then on: at the opening the
early crowd stands in a uniformly random order, whatever the moment each one came or how often
they reloaded. A visitor who arrives after the opening gets 1 + an arrival counter: first come,
first served, behind everyone who was early.

Nobody is ever removed and no one is inserted ahead of anyone after the opening, so a visitor's
rank never changes once the room is open; the room lets people through by moving one number,
`admitted`, up at the configured pace (advanced lazily by whoever asks, atomically in Lua, and
never past the queue's end, so an empty queue does not save up a burst). A visitor is through
when their rank is below it. A poll is one script call: no database query.
"""

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django_redis import get_redis_connection

# The admission counter as of `now`: moved on by `rate` per second since it last moved.
_ADVANCE = """
local cfg = redis.call('HMGET', KEYS[2], 'opens_at', 'rate', 'admitted', 'last', 'on')
local opens = tonumber(cfg[1] or '0')
local rate = tonumber(cfg[2] or '0')
local admitted = tonumber(cfg[3] or '0')
local last = tonumber(cfg[4] or '0')
local now = tonumber(ARGV[1])
local total = redis.call('ZCARD', KEYS[1])
if cfg[1] and now >= opens then
  if last < opens then last = opens end
  if now > last then
    admitted = math.min(total, admitted + rate * (now - last))
    -- %.17g: tostring keeps 14 digits, which loses a tenth of a second of an epoch time
    redis.call('HSET', KEYS[2], 'admitted', string.format('%.17g', admitted),
               'last', string.format('%.17g', now))
  end
end
"""

# KEYS: queue, config. ARGV: now, visitor ('' for none). -> rank|-1, admitted, total, rate,
# opens_at, on.
_STATUS = (
    _ADVANCE
    + """
local rank = -1
if ARGV[2] ~= '' then
  local found = redis.call('ZRANK', KEYS[1], ARGV[2])
  if found then rank = found end
end
return {rank, string.format('%.17g', admitted), total, string.format('%.17g', rate),
        cfg[1] or '', cfg[5] or '0'}
"""
)

# KEYS: queue, arrivals counter, config. ARGV: now, visitor, a random draw in [0, 1).
# -> the visitor's rank (they keep their place if already in).
_JOIN = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score then
  local opens = tonumber(redis.call('HGET', KEYS[3], 'opens_at') or '0')
  if tonumber(ARGV[1]) < opens then
    score = ARGV[3]
  else
    score = tostring(1 + redis.call('INCR', KEYS[2]))
  end
  redis.call('ZADD', KEYS[1], 'NX', score, ARGV[2])
end
return redis.call('ZRANK', KEYS[1], ARGV[2])
"""

# KEYS: queue, config. ARGV: now, new rate per second. Moves the counter on at the old pace first.
_SET_RATE = (
    _ADVANCE
    + """
redis.call('HSET', KEYS[2], 'rate', ARGV[2])
return 1
"""
)

_scripts: dict[str, Any] = {}


def _client() -> Any:
    return get_redis_connection("default")


def _script(name: str, source: str) -> Any:
    if name not in _scripts:
        _scripts[name] = _client().register_script(source)
    return _scripts[name]


def _key(event_id: Any, part: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:wr:{event_id}:{part}"


@dataclass(frozen=True)
class Standing:
    """Where the queue stands, and where one visitor stands in it."""

    on: bool
    opens_at: float  # epoch seconds; 0 when the room was never set up
    rate_per_s: float
    total: int  # everyone who ever joined
    admitted: int  # how many of them are through
    rank: int | None  # the visitor's 0-based place in the whole queue; None if not in it
    now: float  # the moment this was read

    @property
    def open(self) -> bool:
        return self.opens_at > 0 and self.now >= self.opens_at

    @property
    def through(self) -> bool:
        return self.rank is not None and self.open and self.rank < self.admitted

    @property
    def position(self) -> int | None:
        """1 for the next one through; None before the opening (the order is not drawn yet)."""
        if self.rank is None or not self.open or self.through:
            return None
        return self.rank - self.admitted + 1

    @property
    def waiting(self) -> int:
        return max(0, self.total - self.admitted)

    def wait_seconds(self) -> int | None:
        if self.position is None or self.rate_per_s <= 0:
            return None
        return round(self.position / self.rate_per_s)


def configure(
    *,
    event_id: Any,
    on: bool,
    opens_at: float,
    rate_per_s: float,
    auto_per_minute: int = 0,
    token_s: int = 900,
) -> None:
    """Publish the room's settings (the database row is the record; this is what polls read)."""
    _script("set_rate", _SET_RATE)(
        keys=[_key(event_id, "q"), _key(event_id, "cfg")], args=[time.time(), rate_per_s]
    )
    client, config = _client(), _key(event_id, "cfg")
    mapping = {"opens_at": opens_at, "auto": auto_per_minute, "token_s": token_s}
    if not auto_per_minute:
        client.hdel(config, "switched_on")
    # A room that switched itself on stays on (and keeps its opening) through an edit.
    switched_on = client.hget(config, "switched_on")
    if switched_on:
        mapping["opens_at"] = float(switched_on)
    mapping["on"] = int(on or bool(switched_on))
    client.hset(config, mapping=mapping)


def page_publish(*, event_id: Any, page: dict[str, Any] | None) -> None:
    """What the waiting page shows of its event, so a visitor's arrival needs no database query;
    None while the event is not public (the page then asks PostgreSQL)."""
    if page is None:
        _client().hdel(_key(event_id, "cfg"), "page")
    else:
        _client().hset(_key(event_id, "cfg"), "page", json.dumps(page))


def page_of(*, event_id: Any) -> dict[str, Any] | None:
    page = _client().hget(_key(event_id, "cfg"), "page")
    return None if page is None else dict(json.loads(page))


def room_settings(*, event_id: Any) -> dict[str, Any] | None:
    """What `register` needs to know, or None when the event has no room."""
    on, auto, token_s = _client().hmget(_key(event_id, "cfg"), ["on", "auto", "token_s"])
    if on is None:
        return None
    return {"on": int(on) == 1, "auto_per_minute": int(auto or 0), "token_s": int(token_s or 900)}


def set_rate(*, event_id: Any, rate_per_s: float) -> None:
    _script("set_rate", _SET_RATE)(
        keys=[_key(event_id, "q"), _key(event_id, "cfg")], args=[time.time(), rate_per_s]
    )


def switch_on(*, event_id: Any, opens_at: float) -> None:
    """A room that switched itself on: whoever comes from now on queues first come, first served."""
    _client().hset(
        _key(event_id, "cfg"), mapping={"on": 1, "opens_at": opens_at, "switched_on": opens_at}
    )


def join(*, event_id: Any, visitor: str, now: float | None = None) -> int:
    """Put the visitor in the queue once; their 0-based rank."""
    draw = secrets.randbelow(2**52) / 2**52  # a place among the early crowd, drawn once
    rank = _script("join", _JOIN)(
        keys=[_key(event_id, "q"), _key(event_id, "seq"), _key(event_id, "cfg")],
        args=[time.time() if now is None else now, visitor, repr(draw)],
    )
    return int(rank)


def standing(*, event_id: Any, visitor: str = "", now: float | None = None) -> Standing:
    now = time.time() if now is None else now
    rank, admitted, total, rate, opens_at, on = _script("status", _STATUS)(
        keys=[_key(event_id, "q"), _key(event_id, "cfg")], args=[now, visitor]
    )
    return Standing(
        on=bool(int(on)),
        opens_at=float(opens_at or 0),
        rate_per_s=float(rate),
        total=int(total),
        # Seconds since 1970 leave a float a few digits: 4.9999999 let through means 5.
        admitted=int(float(admitted) + 1e-6),
        rank=None if int(rank) < 0 else int(rank),
        now=now,
    )


def is_on(event_id: Any) -> bool:
    return _client().hget(_key(event_id, "cfg"), "on") in (b"1", "1")


def count_arrival(*, event_id: Any, now: float | None = None) -> int:
    """Arrivals at the sale in the current minute (for a room that switches itself on)."""
    minute = int((time.time() if now is None else now) // 60)
    key = _key(event_id, f"arrivals:{minute}")
    pipe = _client().pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    return int(pipe.execute()[0])


def hit_limit(*, bucket: str, limit: int, window_s: int = 60) -> bool:
    """True once `bucket` has been counted more than `limit` times in the current window."""
    key = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:wr:limit:{bucket}"
    pipe = _client().pipeline()
    pipe.incr(key)
    pipe.expire(key, window_s, nx=True)
    return int(pipe.execute()[0]) > limit


def clear(*, event_id: Any) -> None:
    """Forget the queue (tests, and an organizer resetting a room before a sale)."""
    client = _client()
    keys = list(client.scan_iter(_key(event_id, "*")))
    if keys:
        client.delete(*keys)
