"""Event page views counted in Redis (cheap on the page path) and flushed into PageViewHour.

A view is one INCR per event-hour; unique visitors go into a HyperLogLog per event-hour, fed with
a hash of the session key (or, without a session, of address and browser) salted with a random
value that changes daily and is forgotten after two days: nothing stored can be tied back to a
person, and the same visitor on two days cannot be linked either.
"""

import hashlib
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)

SALT_SECONDS = 2 * 86400
VISITOR_SKETCH_SECONDS = 3 * 86400


def _key(*parts: Any) -> str:
    prefix = str(settings.CACHES["default"].get("KEY_PREFIX", ""))
    return ":".join([prefix, "analytics", *(str(p) for p in parts)])


def _client() -> Any:
    return get_redis_connection("default")


def _daily_salt(client: Any, now: datetime) -> bytes:
    key = _key("salt", now.date().isoformat())
    client.set(key, secrets.token_hex(16), nx=True, ex=SALT_SECONDS)
    salt = client.get(key)
    return salt if isinstance(salt, bytes) else str(salt).encode()


def visitor_digest(salt: bytes, visitor: str) -> str:
    return hashlib.blake2b(visitor.encode(), key=salt[:64], digest_size=8).hexdigest()


def page_view_record(*, event_id: Any, visitor: str, now: datetime | None = None) -> None:
    """Count one view of an event page; a Redis outage loses the count, never the page."""
    now = now or timezone.now()
    hour = int(now.timestamp()) // 3600
    member = f"{event_id}:{hour}"
    try:
        client = _client()
        digest = visitor_digest(_daily_salt(client, now), visitor)
        pipe = client.pipeline(transaction=False)
        pipe.incr(_key("views", member))
        pipe.pfadd(_key("visitors", member), digest)
        pipe.expire(_key("visitors", member), VISITOR_SKETCH_SECONDS)
        pipe.sadd(_key("dirty"), member)
        pipe.execute()
    except redis.RedisError:
        logger.warning("page view of %s not counted: Redis unavailable", event_id)


_FLUSH_SQL = """
    INSERT INTO analytics_pageviewhour (event_id, hour, views, visitors, updated_at)
    SELECT e.id, %(hour)s, %(views)s, %(visitors)s, now() FROM events_event e WHERE e.id = %(event)s
    ON CONFLICT ON CONSTRAINT one_page_view_row_per_hour DO UPDATE SET
        views = analytics_pageviewhour.views + EXCLUDED.views,
        visitors = GREATEST(analytics_pageviewhour.visitors, EXCLUDED.visitors),
        updated_at = now()
"""


def page_views_flush() -> int:
    """Move the counted views into PageViewHour; returns how many event-hours were written.

    The event-hour leaves the dirty set before its counter is read and reset, so a view that
    lands in between marks it dirty again and is flushed next time, never lost.
    """
    client = _client()
    members = client.smembers(_key("dirty"))
    written = 0
    for raw in members:
        member = raw.decode() if isinstance(raw, bytes) else str(raw)
        event_id, hour = member.rsplit(":", 1)
        pipe = client.pipeline(transaction=True)
        pipe.srem(_key("dirty"), member)
        pipe.getdel(_key("views", member))
        pipe.pfcount(_key("visitors", member))
        _, views, visitors = pipe.execute()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _FLUSH_SQL,
                {
                    "event": event_id,
                    "hour": datetime.fromtimestamp(int(hour) * 3600, tz=UTC),
                    "views": int(views or 0),
                    "visitors": int(visitors or 0),
                },
            )
        written += 1
    return written
