"""The ticket lifecycle: every state a ticket can be in and every move between them, once.

A ticket's state is stored as `Ticket.status` (`valid` or `void`) and, when void, why
(`void_reason`). The states below are those pairs by name. Only `ticket_transition` moves a
ticket, and the database trigger `ticket_lifecycle_guard` (migration 0006) refuses any change
of these two columns that this table does not allow, whoever writes it.

    from      to            when the ticket has an admission at the door
    valid  -> refunded      only if the event's policy allows refunds after entry
    valid  -> cancelled     only if the event's policy allows refunds after entry
    valid  -> transferred   never: it was used; the next holder would get in again

Admission is not a state of the ticket. The door records it as `checkin.Admission` rows (one
per ticket and check-in list; re-entry lists mark it inside or out), so a ticket that got in
stays `valid`: it may be scanned out and in again, and its QR keeps verifying. "Used" is that
fact, read here through the reverse relation `Ticket.admissions` (ticketing never imports
checkin), and in the trigger from the `checkin_admission` table. A ticket issued to a new
holder (a transfer) is a new row that starts `valid`; nothing ever moves a ticket back to
`valid`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import DatabaseError, connection

from ticketing.errors import TicketAlreadyUsed, TicketStateConflict
from ticketing.models import EventPolicy, Ticket


class TicketState(StrEnum):
    VALID = "valid"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"


# How each state is stored: (status, void_reason).
STORED: dict[TicketState, tuple[str, str]] = {
    TicketState.VALID: (Ticket.Status.VALID, ""),
    TicketState.REFUNDED: (Ticket.Status.VOID, Ticket.VoidReason.REFUNDED),
    TicketState.CANCELLED: (Ticket.Status.VOID, Ticket.VoidReason.CANCELLED),
    TicketState.TRANSFERRED: (Ticket.Status.VOID, Ticket.VoidReason.TRANSFERRED),
}


@dataclass(frozen=True)
class Move:
    # Whether a ticket with an admission may take this move: "never", or "policy" (only if
    # EventPolicy.refunds_after_entry is on, which it is not by default).
    after_admission: str


NEVER = "never"
IF_POLICY = "policy"

TRANSITIONS: dict[tuple[TicketState, TicketState], Move] = {
    (TicketState.VALID, TicketState.REFUNDED): Move(after_admission=IF_POLICY),
    (TicketState.VALID, TicketState.CANCELLED): Move(after_admission=IF_POLICY),
    (TicketState.VALID, TicketState.TRANSFERRED): Move(after_admission=NEVER),
}

# The trigger raises with this SQLSTATE; ticket_transition turns it back into a domain error.
GUARD_SQLSTATE_USED = "BX409"
GUARD_SQLSTATE_MOVE = "BX422"


def state_of(ticket: Ticket) -> TicketState:
    if ticket.status == Ticket.Status.VALID:
        return TicketState.VALID
    # A ticket voided before reasons were recorded counts as cancelled: it is void all the same.
    return TicketState(ticket.void_reason or TicketState.CANCELLED)


def admitted_ticket_ids(ticket_ids: Iterable[Any]) -> set[Any]:
    """Those of these tickets that got in at the door at least once (any list)."""
    ids = list(ticket_ids)
    if not ids:
        return set()
    return set(
        Ticket.objects.filter(pk__in=ids, admissions__isnull=False)
        .values_list("pk", flat=True)
        .distinct()
    )


def refunds_after_entry(event_id: Any) -> bool:
    return bool(
        EventPolicy.objects.filter(event_id=event_id)
        .values_list("refunds_after_entry", flat=True)
        .first()
    )


def transition_check(tickets: Sequence[Ticket], to: TicketState) -> None:
    """Raise unless every ticket may move to `to` now (the friendly check; the trigger guards)."""
    admitted: set[Any] | None = None
    for ticket in tickets:
        move = TRANSITIONS.get((state_of(ticket), to))
        if move is None:
            raise TicketStateConflict(state=str(state_of(ticket)), to=str(to))
        if admitted is None:
            admitted = admitted_ticket_ids(t.pk for t in tickets)
        if ticket.pk in admitted and not (
            move.after_admission == IF_POLICY and refunds_after_entry(ticket.event_id)
        ):
            raise TicketAlreadyUsed(ticket_id=str(ticket.pk))


def admissible_for(tickets: Sequence[Ticket], to: TicketState) -> list[Ticket]:
    """The tickets that may move to `to` now (for "refund all that can be refunded")."""
    admitted = admitted_ticket_ids(t.pk for t in tickets)
    allowed = []
    for ticket in tickets:
        move = TRANSITIONS.get((state_of(ticket), to))
        if move is None:
            continue
        if ticket.pk in admitted and not (
            move.after_admission == IF_POLICY and refunds_after_entry(ticket.event_id)
        ):
            continue
        allowed.append(ticket)
    return allowed


def ticket_transition(tickets: Sequence[Ticket], to: TicketState) -> None:
    """Move tickets (locked by the caller) to `to`, or raise and move none of them."""
    if not connection.in_atomic_block:
        raise RuntimeError("ticket_transition runs in the caller's transaction")
    if not tickets:
        return
    transition_check(tickets, to)
    status, reason = STORED[to]
    previous = {STORED[state_of(t)] for t in tickets}
    try:
        for old_status, old_reason in previous:
            ids = [t.pk for t in tickets if STORED[state_of(t)] == (old_status, old_reason)]
            moved = Ticket.objects.filter(pk__in=ids, status=old_status).update(
                status=status, void_reason=reason
            )
            if moved != len(ids):  # the caller should hold the row locks; so this is a bug
                raise TicketStateConflict(to=str(to))
    except DatabaseError as exc:
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
        if sqlstate == GUARD_SQLSTATE_USED:
            raise TicketAlreadyUsed() from exc
        if sqlstate == GUARD_SQLSTATE_MOVE:
            raise TicketStateConflict(to=str(to)) from exc
        raise
    for ticket in tickets:
        ticket.status, ticket.void_reason = status, reason
