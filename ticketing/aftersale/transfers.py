"""Transfers: a holder sends a ticket to an email address; the recipient accepts.

Accepting moves the old ticket to `transferred` (booking.lifecycle) and issues a new one (new
id, new signed QR, booking.core) in one transaction, so from that commit on the old QR is
rejected by online scanners (`ticket_scan` sees it void) and left out of the next offline
bundle. A ticket that got in at the door cannot be sent or accepted (TICKET_ALREADY_USED):
the lifecycle forbids it and the database trigger refuses it. Every transfer row is kept.

The link's token is a secret: only its SHA-256 is stored (`Transfer.token_hash`); the plain
token exists in the `transfer_sent` signal, for the recipient's email (whose outbox row keeps it
encrypted with the app's key, core.sealed), and nowhere else.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import address_digest
from accounts.models import User
from accounts.services import audit_record
from core.db import busy_on_lock_timeout, row_or_raise
from core.errors import NotFound
from events.models import Event
from ticketing.aftersale.refunds import policy_for
from ticketing.booking.core import tickets_build
from ticketing.booking.lifecycle import TicketState, ticket_transition, transition_check
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
    with busy_on_lock_timeout():
        ticket = row_or_raise(
            Ticket.objects.select_for_update(of=("self",)).select_related("event"),
            NotFound("No such ticket."),
            pk=ticket_id,
            holder=sender,
        )
        if ticket.status != Ticket.Status.VALID:
            raise TicketNotTransferable(_("This ticket is no longer valid."))
        if to_email == sender.email.lower():
            raise TicketNotTransferable(_("That is your own email address."))
        if ticket.event.status != Event.Status.PUBLISHED:
            raise TicketNotTransferable(_("This event is not on."))
        _check_policy(ticket.event)
        transition_check([ticket], TicketState.TRANSFERRED)  # not once it got in
        ticket.transfers.filter(status=Transfer.Status.PENDING).update(
            status=Transfer.Status.CANCELLED, decided_at=timezone.now()
        )
        token = secrets.token_urlsafe(32)
        transfer = Transfer.objects.create(
            ticket=ticket, sender=sender, to_email=to_email, token_hash=token_hash(token)
        )
        audit_record(
            actor=sender,
            action="ticket.transfer_send",
            target=ticket,
            organization=ticket.event.organization,
            # The address itself stays on the transfer row, where an erasure can reach it.
            changes={"to_sha256": address_digest(to_email), "transfer": str(transfer.pk)},
        )
    pk = transfer.pk
    # Inside the transaction: the recipient's outbox message commits with the transfer.
    transfer_sent.send(sender=Transfer, transfer_id=pk, token=token)
    transfer.token = token  # for the caller's answer only; never stored
    return transfer


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def transfer_by_token(token: str) -> Transfer:
    """The transfer a recipient's link points at (any status), or NotFound."""
    transfer = (
        Transfer.objects.select_related("ticket__event", "ticket__tier", "sender")
        .filter(token_hash=token_hash(token))
        .first()
        if token
        else None
    )
    if transfer is None:
        raise NotFound(_("No such transfer."))
    return transfer


@transaction.atomic(durable=True)
def ticket_transfer_accept(*, recipient: User, token: str) -> Ticket:
    """Take a ticket sent to you: the old one is void at once, you get a new one and QR."""
    with busy_on_lock_timeout():
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
            raise NotFound(_("This transfer was sent to another email address."))
        if ticket.status != Ticket.Status.VALID or ticket.holder_id != transfer.sender_id:
            raise TicketNotTransferable(_("This ticket is no longer valid."))
        _check_policy(ticket.event)
        seat_label = ticket.seat.label if ticket.seat is not None else ""
        [new] = tickets_build(
            order_id=ticket.order_id,
            event_id=ticket.event_id,
            holder=recipient,
            plan=[(ticket.tier_id, ticket.seat_id, seat_label)],  # the same seat, a new QR
        )
        # Moved first: a seat has one valid ticket at a time (one_valid_ticket_per_seat).
        ticket_transition([ticket], TicketState.TRANSFERRED)
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
    ticket_transferred.send(sender=Transfer, transfer_id=pk)
    return new


@transaction.atomic(durable=True)
def ticket_transfer_cancel(*, sender: User, transfer_id: Any) -> None:
    """Take back a transfer nobody accepted yet."""
    transfer = row_or_raise(
        Transfer.objects.select_for_update(),
        NotFound("No such transfer."),
        pk=transfer_id,
        sender=sender,
    )
    if transfer.status != Transfer.Status.PENDING:
        raise TransferNotOpen()
    transfer.status, transfer.decided_at = Transfer.Status.CANCELLED, timezone.now()
    transfer.save(update_fields=["status", "decided_at"])


def transfers_of_ticket(ticket: Ticket) -> QuerySet[Transfer]:
    """A ticket's transfer history, newest first."""
    return ticket.transfers.select_related("sender", "recipient").order_by("-created_at")
