"""Listeners for what other apps announce."""

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from events.models import Event
from events.signals import event_availability_read, event_cancelled, tiers_changed
from ticketing.aftersale.cancellation import refund_job_start
from ticketing.booking.core import orders_release_expired
from ticketing.booking.gate import gate_sync


@receiver(tiers_changed)
def on_tiers_changed(sender: Any, event_id: UUID, **kwargs: Any) -> None:
    # Raised capacity must be on sale at once, not after the next periodic sync.
    gate_sync(event_ids=[event_id])


@receiver(event_availability_read)
def on_event_availability_read(sender: Any, event_id: UUID, **kwargs: Any) -> bool:
    # Holds that lapsed go back on sale as the page is read, even if the beat job is behind.
    return bool(orders_release_expired(event_id=event_id))


@receiver(event_cancelled)
def on_event_cancelled(sender: Any, event_id: UUID, actor_id: Any = None, **kwargs: Any) -> None:
    # In the cancelling transaction: a cancelled event refunds every order (a resumable job).
    if actor_id is not None:
        refund_job_start(event=Event.objects.get(pk=event_id), actor_id=actor_id)
