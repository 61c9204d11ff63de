"""Listeners for waitlist offers, transfers and cancellations; each only enqueues.

Refund emails go through the outbox (receivers.py, `order_refunded`).
"""

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from notifications import tasks_waitlist as tasks
from ticketing.signals import (
    event_cancelled_refunds_done,
    ticket_transferred,
    transfer_sent,
)
from waitlist.signals import offer_made


@receiver(offer_made)
def on_offer_made(sender: Any, offer_id: UUID, **kwargs: Any) -> None:
    tasks.send_waitlist_offer.delay(str(offer_id))


@receiver(transfer_sent)
def on_transfer_sent(sender: Any, transfer_id: UUID, token: str, **kwargs: Any) -> None:
    # The plain token exists only here (ticketing stores its hash): it goes into the link.
    tasks.send_transfer_offer.delay(str(transfer_id), token)


@receiver(ticket_transferred)
def on_ticket_transferred(sender: Any, transfer_id: UUID, **kwargs: Any) -> None:
    tasks.send_transfer_accepted.delay(str(transfer_id))


@receiver(event_cancelled_refunds_done)
def on_event_cancelled_refunds_done(sender: Any, event_id: UUID, **kwargs: Any) -> None:
    tasks.send_event_cancelled.delay(str(event_id))
