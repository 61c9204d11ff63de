"""Bulk actions on attendees, each through the service that owns the change.

Refunds go through ticketing's refund service (one refund per order, idempotent per batch),
check-ins through the check-in service (a Scan row names who did it) plus an audit entry. Mail
goes through the notifications outbox: ticketing's signals carry it there inside the same
transaction as the audit entry. A batch key makes a double-submitted form harmless: the same key
gives the same refunds and the same messages.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import audit_record
from checkin.services import checkin_list_default, ticket_scan
from core.errors import DomainError
from events.models import Event
from ticketing.aftersale.refunds import order_refund
from ticketing.models import Refund, Ticket
from ticketing.signals import holders_messaged, tickets_resend_requested

# A filter can match a whole event; a synchronous request refunds at most this many at once.
MAX_BULK = 500
SUBJECT_MAX = 150
BODY_MAX = 5000


class MessageInvalid(DomainError):
    code = "MESSAGE_INVALID"
    status = 422
    message = _("Give the message a subject and a text.")


@dataclass
class BulkOutcome:
    done: int = 0
    failed: list[str] = field(default_factory=list)


def _valid_tickets(event: Event, ticket_ids: list[Any]) -> list[Ticket]:
    return list(
        Ticket.objects.filter(event=event, pk__in=ticket_ids[:MAX_BULK], status=Ticket.Status.VALID)
        .select_related("order")
        .order_by("order_id", "id")
    )


def attendees_refund(
    *, actor: User, event: Event, ticket_ids: list[Any], batch_key: str
) -> BulkOutcome:
    """Cancel and refund the given tickets of `event` (in full: the organizer's decision)."""
    outcome = BulkOutcome()
    by_order: dict[Any, list[Any]] = defaultdict(list)
    for ticket in _valid_tickets(event, ticket_ids):
        by_order[ticket.order_id].append(ticket.pk)
    for order_id, tickets in by_order.items():
        try:
            order_refund(
                actor=actor,
                order_id=order_id,
                ticket_ids=tickets,
                idempotency_key=f"bulk-{batch_key}-{order_id}"[:100],
                as_organizer=True,
                reason=Refund.Reason.ORGANIZER,
            )
            outcome.done += len(tickets)
        except DomainError as exc:
            outcome.failed.append(f"{str(order_id)[:8].upper()}: {exc.detail_message}")
    return outcome


def attendees_check_in(*, actor: User, event: Event, ticket_ids: list[Any]) -> BulkOutcome:
    """Admit the given tickets at the event's main list by hand (door problems, lost phones)."""
    outcome = BulkOutcome()
    checkin_list = checkin_list_default(event)
    for ticket in _valid_tickets(event, ticket_ids):
        result = ticket_scan(payload=ticket.qr_payload, checkin_list=checkin_list, scanned_by=actor)
        if result.valid:
            with transaction.atomic():
                audit_record(
                    actor=actor,
                    action="ticket.manual_check_in",
                    target=ticket,
                    organization=event.organization,
                    changes={"list": str(checkin_list.pk), "scan": result.scan_id},
                )
            outcome.done += 1
        else:
            outcome.failed.append(f"{str(ticket.pk)[:8].upper()}: {result.message}")
    return outcome


@transaction.atomic(durable=True)
def attendees_email(
    *, actor: User, event: Event, ticket_ids: list[Any], subject: str, body: str, batch_key: str
) -> BulkOutcome:
    """Write the organizer's message to the holders of the given valid tickets (once each)."""
    subject, body = " ".join(subject.split()), body.strip()
    if not subject or not body or len(subject) > SUBJECT_MAX or len(body) > BODY_MAX:
        raise MessageInvalid()
    holders = sorted({str(t.holder_id) for t in _valid_tickets(event, ticket_ids)})
    if holders:
        audit_record(
            actor=actor,
            action="attendees.emailed",
            target=event,
            organization=event.organization,
            changes={"recipients": len(holders), "subject": subject, "batch": batch_key},
        )
        holders_messaged.send(
            sender=Event,
            event_id=event.pk,
            organization_id=event.organization_id,
            user_ids=holders,
            subject=subject,
            body=body,
            batch_key=batch_key,
        )
    return BulkOutcome(done=len(holders))


@transaction.atomic(durable=True)
def attendees_tickets_resend(
    *, actor: User, event: Event, ticket_ids: list[Any], batch_key: str
) -> BulkOutcome:
    """Send the given valid tickets to their holders again, one mail per holder and order."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for ticket in _valid_tickets(event, ticket_ids):
        grouped[(str(ticket.holder_id), str(ticket.order_id))].append(str(ticket.pk))
    if grouped:
        audit_record(
            actor=actor,
            action="attendees.tickets_resent",
            target=event,
            organization=event.organization,
            changes={
                "tickets": sum(len(ids) for ids in grouped.values()),
                "mails": len(grouped),
                "batch": batch_key,
            },
        )
        tickets_resend_requested.send(
            sender=Ticket,
            event_id=event.pk,
            organization_id=event.organization_id,
            resends=[(holder, order, ids) for (holder, order), ids in sorted(grouped.items())],
            batch_key=batch_key,
        )
    return BulkOutcome(done=sum(len(ids) for ids in grouped.values()))
