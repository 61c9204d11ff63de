"""Listeners: released seats and raised capacity start a promotion (in a Celery task)."""

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from events.signals import tiers_changed
from ticketing.signals import seats_set_aside
from waitlist.models import WaitlistEntry
from waitlist.tasks import promote_waitlist


@receiver(seats_set_aside)
def on_seats_set_aside(sender: Any, event_id: UUID, **kwargs: Any) -> None:
    promote_waitlist.delay(str(event_id))


@receiver(tiers_changed)
def on_tiers_changed(sender: Any, event_id: UUID, **kwargs: Any) -> None:
    # Raised capacity goes to the people waiting first.
    if WaitlistEntry.objects.filter(
        event_id=event_id, status=WaitlistEntry.Status.WAITING
    ).exists():
        promote_waitlist.delay(str(event_id))
