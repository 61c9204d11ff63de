"""Thin Celery wrappers around waitlist services: ids in, safe to run twice."""

from celery import shared_task

from waitlist.services import waitlist_offers_expire, waitlist_promote


@shared_task
def promote_waitlist(event_id: str) -> int:
    """Offer an event's set-aside seats to the heads of its lines (after any release)."""
    return waitlist_promote(event_id=event_id)


@shared_task
def expire_waitlist_offers() -> int:
    """Beat: lapsed offers move on to the next person; also catches a lost promotion."""
    settled = waitlist_offers_expire()
    from ticketing.models import SetAside

    for event_id in set(SetAside.objects.filter(quantity__gt=0).values_list("event_id", flat=True)):
        waitlist_promote(event_id=event_id)
    return settled
