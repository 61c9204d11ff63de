"""Redis caching of anonymous event pages and listings, and its invalidation.

Each cached value carries the version it was built for; an organizer's edit bumps the version
(after commit), so the next request rebuilds at once. Availability changes (sales, holds) do not
bump anything: the short TTL (EVENTS_CACHE_SECONDS, a few seconds) bounds how stale a count can be.
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


def cache_seconds() -> int:
    return int(getattr(settings, "EVENTS_CACHE_SECONDS", 5))


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
    """`build()` once per version and TTL; kind 'event' keys on the event, 'listing' on all."""
    if cache_seconds() <= 0:
        return build()
    version_key = _event_version_key(ident) if kind == "event" else LISTING_VERSION
    digest = hashlib.sha256(variant.encode()).hexdigest()[:32]
    value_key = f"events:c:{kind}:{ident}:{digest}"
    found = cache.get_many([version_key, value_key])
    version = found.get(version_key, 0)
    stored = found.get(value_key)
    if stored is not None and stored[0] == version:
        return stored[1]
    value = build()
    cache.set(value_key, (version, value), timeout=cache_seconds())
    return value
