"""Redis caching of anonymous event pages and listings, and its invalidation.

Each cached value carries the version it was built for; an organizer's edit bumps the version
(after commit), so the next request rebuilds at once. Sales and holds do not bump anything: an
event page is a long-lived shell plus its ticket table, whose numbers are cached for only
EVENTS_AVAILABILITY_SECONDS; listings (sold-out badges, the "tickets left" filter) for
EVENTS_LISTING_CACHE_SECONDS.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

LISTING_VERSION = "events:v:listing"


def _event_version_key(event_id: Any) -> str:
    return f"events:v:event:{event_id}"


TTL_SETTINGS = {
    "event": "EVENTS_PAGE_CACHE_SECONDS",
    "availability": "EVENTS_AVAILABILITY_SECONDS",
    "listing": "EVENTS_LISTING_CACHE_SECONDS",
}


def cache_seconds(kind: str) -> int:
    return int(getattr(settings, TTL_SETTINGS[kind]))


def events_changed(*event_ids: Any) -> None:
    """After commit: pages of these events and every listing are rebuilt on the next request."""

    def bump() -> None:
        stamp = time.time_ns()
        cache.set_many(
            {LISTING_VERSION: stamp, **{_event_version_key(i): stamp for i in event_ids}},
            timeout=None,
        )

    transaction.on_commit(bump)


def _value_key(kind: str, ident: Any, variant: str) -> str:
    digest = hashlib.sha256(variant.encode()).hexdigest()[:32]
    return f"events:c:{kind}:{ident}:{digest}"


def cached_event_page(
    event_id: Any, variant: str, build_shell: Callable[[], Any], build_table: Callable[[], str]
) -> tuple[Any, str]:
    """An event page's shell (until an edit) and ticket table (a few seconds), in one round trip."""
    shell_seconds, table_seconds = cache_seconds("event"), cache_seconds("availability")
    version_key = _event_version_key(event_id)
    shell_key = _value_key("event", event_id, variant)
    table_key = _value_key("availability", event_id, variant)
    found = cache.get_many([version_key, shell_key, table_key])
    version = found.get(version_key, 0)
    shell, table = found.get(shell_key), found.get(table_key)
    if shell is not None and shell[0] == version and shell_seconds > 0:
        shell_value = shell[1]
    else:
        shell_value = build_shell()
        if shell_seconds > 0:
            cache.set(shell_key, (version, shell_value), timeout=shell_seconds)
    if table is not None and table[0] == version and table_seconds > 0:
        table_value = table[1]
    else:
        table_value = build_table()
        if table_seconds > 0:
            cache.set(table_key, (version, table_value), timeout=table_seconds)
    return shell_value, table_value


def cached(kind: str, ident: Any, variant: str, build: Callable[[], Any]) -> Any:
    """`build()` once per version and TTL; 'event' and 'availability' key on the event's
    version, 'listing' on the version of all listings."""
    seconds = cache_seconds(kind)
    if seconds <= 0:
        return build()
    version_key = LISTING_VERSION if kind == "listing" else _event_version_key(ident)
    value_key = _value_key(kind, ident, variant)
    found = cache.get_many([version_key, value_key])
    version = found.get(version_key, 0)
    stored = found.get(value_key)
    if stored is not None and stored[0] == version:
        return stored[1]
    value = build()
    cache.set(value_key, (version, value), timeout=seconds)
    return value
