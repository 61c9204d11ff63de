"""Bulk actions on attendees, each through the service that owns the change.

Refunds go through ticketing's refund service (one refund per order, idempotent per batch),
check-ins through the check-in service (a Scan row names who did it) plus an audit entry. A batch
key makes a double-submitted form harmless: the same key gives the same refunds.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from accounts.models import User
from accounts.services import audit_record
from checkin.services import checkin_list_default, ticket_scan
from core.errors import DomainError
from events.models import Event
from ticketing.aftersale.refunds import order_refund
from ticketing.models import Refund, Ticket

# A filter can match a whole event; a synchronous request refunds at most this many at once.
MAX_BULK = 500


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
