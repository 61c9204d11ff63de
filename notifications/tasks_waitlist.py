"""Mail for waitlist offers, refunds, transfers and cancellations (issue 6).

Each task takes ids, renders its templates and calls `email_send`; the lead ports these to the
outbox at merge.
"""

from typing import Any

from celery import shared_task
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from notifications.services import email_send
from ticketing.models import Ticket, Transfer
from waitlist.models import Offer, WaitlistEntry

RETRY: dict[str, Any] = {
    "autoretry_for": (OSError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


def _send(template: str, subject: str, to: list[str], context: dict[str, Any]) -> None:
    context = {**context, "site_url": settings.SITE_URL}
    email_send(
        subject=subject,
        body=render_to_string(f"notifications/{template}.txt", context),
        html=render_to_string(f"notifications/{template}.html", context),
        to=to,
    )


@shared_task(**RETRY)
def send_waitlist_offer(offer_id: str) -> None:
    offer = Offer.objects.select_related("user", "event", "event__venue", "tier", "order").get(
        pk=offer_id
    )
    if offer.status != Offer.Status.OPEN:
        return  # settled before the mail went out: nothing to offer any more
    link = settings.SITE_URL + reverse("waitlist:offer", kwargs={"token": offer.token})
    _send(
        "waitlist_offer",
        f"A ticket for {offer.event.title} is held for you",
        [offer.user.email],
        {"offer": offer, "event": offer.event, "link": link},
    )


@shared_task(**RETRY)
def send_transfer_offer(transfer_id: str, token: str) -> None:
    transfer = Transfer.objects.select_related("sender", "ticket__event", "ticket__tier").get(
        pk=transfer_id
    )
    if transfer.status != Transfer.Status.PENDING:
        return
    link = settings.SITE_URL + reverse("ticketing:transfer_accept", kwargs={"token": token})
    _send(
        "transfer",
        f"{transfer.sender.display_name} sent you a ticket for {transfer.ticket.event.title}",
        [transfer.to_email],
        {"transfer": transfer, "event": transfer.ticket.event, "link": link, "accepted": False},
    )


@shared_task(**RETRY)
def send_transfer_accepted(transfer_id: str) -> None:
    transfer = Transfer.objects.select_related("sender", "recipient", "ticket__event").get(
        pk=transfer_id
    )
    _send(
        "transfer",
        f"Your ticket for {transfer.ticket.event.title} was accepted",
        [transfer.sender.email],
        {"transfer": transfer, "event": transfer.ticket.event, "accepted": True},
    )


@shared_task(**RETRY)
def send_event_cancelled(event_id: str) -> None:
    """One mail to everyone still waiting who holds no ticket: holders were told through the
    outbox when the event was cancelled (`event_cancelled`), with what happens to their money."""
    tickets = Ticket.objects.filter(event_id=event_id).select_related("event", "holder")
    first = tickets.first()
    entries = WaitlistEntry.objects.filter(
        event_id=event_id, status=WaitlistEntry.Status.WAITING
    ).select_related("event", "user")
    event = first.event if first is not None else None
    if event is None:
        entry = entries.first()
        if entry is None:
            return
        event = entry.event
    holders = {t.holder.email for t in tickets if t.void_reason != "transferred"}
    waiting = {e.user.email for e in entries} - holders
    for email_address, was_waiting in sorted((e, True) for e in waiting):
        _send(
            "event_cancelled",
            f"Cancelled: {event.title}",
            [email_address],
            {"event": event, "waiting": was_waiting},
        )
