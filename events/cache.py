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


def cached(kind: str, ident: Any, variant: str, build: Callable[[], Any]) -> Any:
    """`build()` once per version and TTL; 'event' and 'availability' key on the event's
    version, 'listing' on the version of all listings."""
    seconds = cache_seconds(kind)
    if seconds <= 0:
        return build()
    version_key = LISTING_VERSION if kind == "listing" else _event_version_key(ident)
    digest = hashlib.sha256(variant.encode()).hexdigest()[:32]
    value_key = f"events:c:{kind}:{ident}:{digest}"
    found = cache.get_many([version_key, value_key])
    version = found.get(version_key, 0)
    stored = found.get(value_key)
    if stored is not None and stored[0] == version:
        return stored[1]
    value = build()
    cache.set(value_key, (version, value), timeout=seconds)
    return value
