from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from config.errors import NotFound
from events.models import Event
from ticketing.errors import SalesClosed, UnknownTier
from waitlist.errors import TicketsAvailable
from waitlist.models import WaitlistEntry


@transaction.atomic(durable=True)
def waitlist_join(*, user: User, event: Event, tier_id: Any = None) -> WaitlistEntry:
    """Put `user` in line for a sold-out tier (or any tier); joining twice keeps the first place."""
    if event.status != Event.Status.PUBLISHED:
        raise SalesClosed("This event is not on sale.")
    tiers = list(event.tiers.all())
    tier = None
    if tier_id is not None:
        tier = next((t for t in tiers if str(t.pk) == str(tier_id)), None)
        if tier is None:
            raise UnknownTier()
    if any(t.available for t in ([tier] if tier else tiers)):
        raise TicketsAvailable()
    existing = WaitlistEntry.objects.filter(
        user=user, event=event, tier=tier, status=WaitlistEntry.Status.WAITING
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(user=user, event=event, tier=tier)
    except IntegrityError:  # the same person joining twice at once
        return WaitlistEntry.objects.get(
            user=user, event=event, tier=tier, status=WaitlistEntry.Status.WAITING
        )


@transaction.atomic(durable=True)
def waitlist_leave(*, user: User, entry_id: Any) -> None:
    """Take `user` out of a line they are in."""
    updated = WaitlistEntry.objects.filter(
        pk=entry_id, user=user, status=WaitlistEntry.Status.WAITING
    ).update(status=WaitlistEntry.Status.LEFT)
    if not updated:
        raise NotFound("You are not on that waitlist.")
