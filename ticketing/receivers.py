"""Listeners for what other apps announce."""

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from events.signals import tiers_changed
from ticketing.gate import gate_sync


@receiver(tiers_changed)
def on_tiers_changed(sender: Any, event_id: UUID, **kwargs: Any) -> None:
    # Raised capacity must be on sale at once, not after the next periodic sync.
    gate_sync(event_ids=[event_id])
