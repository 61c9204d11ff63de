"""Listeners for what other apps announce. Each runs inside the sender's transaction and writes
one outbox row, so the message exists exactly when the change does."""

from typing import Any

from django.dispatch import receiver

from accounts.signals import signin_paused
from checkin.signals import ticket_admitted
from events.signals import event_cancelled, event_changed, session_changed
from notifications import services
from ticketing.models import Transfer
from ticketing.signals import (
    event_cancelled_refunds_done,
    holders_messaged,
    order_confirmed,
    order_refunded,
    ticket_transferred,
    tickets_resend_requested,
    transfer_sent,
)
from waitlist.models import Offer
from waitlist.signals import offer_made


@receiver(order_confirmed)
def on_order_confirmed(sender: Any, order_id: Any, **kwargs: Any) -> None:
    # The flash-sale hot path: one INSERT, nothing read.
    services.order_confirmed_record(order_id=order_id)


@receiver(holders_messaged)
def on_holders_messaged(
    sender: Any,
    event_id: Any,
    organization_id: Any,
    user_ids: list[Any],
    subject: str,
    body: str,
    batch_key: str,
    **kwargs: Any,
) -> None:
    services.organizer_message_record(
        event_id=event_id,
        organization_id=organization_id,
        user_ids=user_ids,
        subject=subject,
        body=body,
        batch_key=batch_key,
    )


@receiver(tickets_resend_requested)
def on_tickets_resend_requested(
    sender: Any,
    event_id: Any,
    organization_id: Any,
    resends: list[tuple[Any, Any, list[Any]]],
    batch_key: str,
    **kwargs: Any,
) -> None:
    services.tickets_resent_record(
        event_id=event_id, organization_id=organization_id, resends=resends, batch_key=batch_key
    )


@receiver(order_refunded)
def on_order_refunded(
    sender: Any, order_id: Any, amount: Any, currency: str, refund_id: Any, **kwargs: Any
) -> None:
    services.order_refunded_record(
        order_id=order_id, amount=amount, currency=currency, refund_id=refund_id
    )


@receiver(event_changed)
def on_event_changed(
    sender: Any, event_id: Any, organization_id: Any, changes: dict[str, list[str]], **kwargs: Any
) -> None:
    notify = {k: v for k, v in changes.items() if k in services.HOLDER_FIELDS}
    if notify:
        services.event_changed_record(
            event_id=event_id, organization_id=organization_id, changes=notify
        )


@receiver(event_cancelled)
def on_event_cancelled(sender: Any, event_id: Any, organization_id: Any, **kwargs: Any) -> None:
    services.event_cancelled_record(event_id=event_id, organization_id=organization_id)


@receiver(ticket_admitted)
def on_ticket_admitted(
    sender: Any, ticket_id: Any, event_id: Any, scan_id: Any, scanned_at: Any, **kwargs: Any
) -> None:
    # After the admission's commit (the door's statement stays single): a crash in between
    # loses this webhook, never the admission. Cheap when nobody subscribed (cached lookup).
    services.ticket_admitted_record(
        ticket_id=ticket_id, event_id=event_id, scan_id=scan_id, scanned_at=scanned_at
    )


@receiver(session_changed)
def on_session_changed(
    sender: Any,
    session_id: Any,
    event_id: Any,
    organization_id: Any,
    title: str,
    changes: dict[str, list[str]],
    **kwargs: Any,
) -> None:
    services.session_changed_record(
        session_id=session_id,
        event_id=event_id,
        organization_id=organization_id,
        title=title,
        changes=changes,
    )


@receiver(offer_made)
def on_offer_made(sender: Any, offer_id: Any, **kwargs: Any) -> None:
    offer = Offer.objects.only("user_id", "event_id").get(pk=offer_id)
    services.waitlist_offer_record(
        offer_id=offer_id, user_id=offer.user_id, event_id=offer.event_id
    )


@receiver(transfer_sent)
def on_transfer_sent(sender: Any, transfer_id: Any, token: str, **kwargs: Any) -> None:
    # The plain token exists only here (ticketing stores its hash): the link is built from it.
    transfer = Transfer.objects.select_related("ticket").get(pk=transfer_id)
    services.transfer_offered_record(
        transfer_id=transfer_id,
        token=token,
        to_email=transfer.to_email,
        event_id=transfer.ticket.event_id,
    )


@receiver(ticket_transferred)
def on_ticket_transferred(sender: Any, transfer_id: Any, **kwargs: Any) -> None:
    transfer = Transfer.objects.select_related("ticket").get(pk=transfer_id)
    services.transfer_accepted_record(
        transfer_id=transfer_id, sender_id=transfer.sender_id, event_id=transfer.ticket.event_id
    )


@receiver(event_cancelled_refunds_done)
def on_event_cancelled_refunds_done(sender: Any, event_id: Any, **kwargs: Any) -> None:
    # Holders were told when the event was cancelled; the people still waiting hear it now.
    services.waitlist_event_cancelled_record(event_id=event_id)


@receiver(signin_paused)
def on_signin_paused(sender: Any, user_id: Any, **kwargs: Any) -> None:
    services.signin_paused_record(user_id=user_id)
