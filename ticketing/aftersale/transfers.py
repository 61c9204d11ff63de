"""Transfers: a holder sends a ticket to an email address; the recipient accepts.

Accepting voids the old ticket and issues a new one (new id, new signed QR) in one transaction,
so from that commit on the old QR is rejected by online scanners (`ticket_scan` sees it void)
and left out of the next offline bundle. Every transfer row is kept: the history.
"""

import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record
from checkin.signing import current_signing_key, ticket_payload_sign
from core.errors import NotFound
from events.models import Event
from ticketing.aftersale.refunds import policy_for
from ticketing.booking.services import _busy_on_lock_timeout
from ticketing.errors import (
    TicketNotTransferable,
    TransferNotOpen,
    TransfersNotAllowed,
    TransferWindowClosed,
)
from ticketing.models import Ticket, Transfer
from ticketing.signals import ticket_transferred, transfer_sent


def _check_policy(event: Event) -> None:
    policy = policy_for(event)
    if not policy.transfers_allowed:
        raise TransfersNotAllowed()
    if timezone.now() >= event.starts_at - timedelta(hours=policy.transfer_until_hours):
        raise TransferWindowClosed()


@transaction.atomic(durable=True)
def ticket_transfer_send(*, sender: User, ticket_id: Any, to_email: str) -> Transfer:
    """Offer one of `sender`'s valid tickets to `to_email`; a new send replaces a pending one."""
    to_email = to_email.strip().lower()
    with _busy_on_lock_timeout():
        try:
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("event")
                .get(pk=ticket_id, holder=sender)
            )
        except (Ticket.DoesNotExist, ValidationError, ValueError) as exc:
            raise NotFound("No such ticket.") from exc
        if ticket.status != Ticket.Status.VALID:
            raise TicketNotTransferable("This ticket is no longer valid.")
        if to_email == sender.email.lower():
            raise TicketNotTransferable("That is your own email address.")
        if ticket.event.status != Event.Status.PUBLISHED:
            raise TicketNotTransferable("This event is not on.")
        _check_policy(ticket.event)
        ticket.transfers.filter(status=Transfer.Status.PENDING).update(
            status=Transfer.Status.CANCELLED, decided_at=timezone.now()
        )
        transfer = Transfer.objects.create(
            ticket=ticket, sender=sender, to_email=to_email, token=secrets.token_urlsafe(32)
        )
        audit_record(
            actor=sender,
            action="ticket.transfer_send",
            target=ticket,
            organization=ticket.event.organization,
            changes={"to": to_email, "transfer": str(transfer.pk)},
        )
    pk = transfer.pk
    transaction.on_commit(lambda: transfer_sent.send(sender=Transfer, transfer_id=pk))
    return transfer


def transfer_by_token(token: str) -> Transfer:
    """The transfer a recipient's link points at (any status), or NotFound."""
    transfer = (
        Transfer.objects.select_related("ticket__event", "ticket__tier", "sender")
        .filter(token=token)
        .first()
        if token
        else None
    )
    if transfer is None:
        raise NotFound("No such transfer.")
    return transfer


@transaction.atomic(durable=True)
def ticket_transfer_accept(*, recipient: User, token: str) -> Ticket:
    """Take a ticket sent to you: the old one is void at once, you get a new one and QR."""
    with _busy_on_lock_timeout():
        found = transfer_by_token(token)
        # Ticket first, then transfer: the same lock order as sending and cancelling.
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("event")
            .get(pk=found.ticket_id)
        )
        transfer = Transfer.objects.select_for_update().get(pk=found.pk)
        if transfer.status == Transfer.Status.ACCEPTED and transfer.recipient_id == recipient.pk:
            return Ticket.objects.get(pk=str(transfer.new_ticket_id))  # the same link, twice
        if transfer.status != Transfer.Status.PENDING:
            raise TransferNotOpen()
        if recipient.email.lower() != transfer.to_email:
            raise NotFound("This transfer was sent to another email address.")
        if ticket.status != Ticket.Status.VALID or ticket.holder_id != transfer.sender_id:
            raise TicketNotTransferable("This ticket is no longer valid.")
        _check_policy(ticket.event)
        new = Ticket(
            order_id=ticket.order_id,
            event_id=ticket.event_id,
            tier_id=ticket.tier_id,
            seat_id=ticket.seat_id,  # the same seat, a new holder and QR
            holder=recipient,
            attendee_name=recipient.display_name,
        )
        new.qr_payload = ticket_payload_sign(new, key=current_signing_key(ticket.event_id))
        # Void first: a seat has one valid ticket at a time (one_valid_ticket_per_seat).
        ticket.status, ticket.void_reason = Ticket.Status.VOID, "transferred"
        ticket.save(update_fields=["status", "void_reason"])
        new.save(force_insert=True)
        transfer.status, transfer.recipient, transfer.new_ticket = (
            Transfer.Status.ACCEPTED,
            recipient,
            new,
        )
        transfer.decided_at = timezone.now()
        try:
            with transaction.atomic():
                transfer.save(update_fields=["status", "recipient", "new_ticket", "decided_at"])
        except IntegrityError as exc:
            raise TransferNotOpen() from exc
        audit_record(
            actor=recipient,
            action="ticket.transfer_accept",
            target=ticket,
            organization=ticket.event.organization,
            changes={"new_ticket": str(new.pk), "transfer": str(transfer.pk)},
        )
    pk = transfer.pk
    transaction.on_commit(lambda: ticket_transferred.send(sender=Transfer, transfer_id=pk))
    return new


@transaction.atomic(durable=True)
def ticket_transfer_cancel(*, sender: User, transfer_id: Any) -> None:
    """Take back a transfer nobody accepted yet."""
    try:
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id, sender=sender)
    except (Transfer.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound("No such transfer.") from exc
    if transfer.status != Transfer.Status.PENDING:
        raise TransferNotOpen()
    transfer.status, transfer.decided_at = Transfer.Status.CANCELLED, timezone.now()
    transfer.save(update_fields=["status", "decided_at"])


def transfers_of_ticket(ticket: Ticket) -> QuerySet[Transfer]:
    """A ticket's transfer history, newest first."""
    return ticket.transfers.select_related("sender", "recipient").order_by("-created_at")
