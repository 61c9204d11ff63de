"""The ticket lifecycle: one table (ticketing.booking.lifecycle), held by the services and by
the database trigger `ticket_lifecycle_guard`; a ticket that got in at the door stays put."""

import itertools
import pathlib
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from accounts.models import User
from checkin.services import checkin_list_default, ticket_scan
from events.models import Event, TicketTier
from tests.api.conftest import login
from tests.factories import UserFactory, order_paid
from ticketing.aftersale.refunds import order_refund
from ticketing.aftersale.transfers import ticket_transfer_accept, ticket_transfer_send
from ticketing.booking.lifecycle import (
    GUARD_SQLSTATE_MOVE,
    GUARD_SQLSTATE_USED,
    IF_POLICY,
    STORED,
    TRANSITIONS,
    TicketState,
    ticket_transition,
)
from ticketing.errors import TicketAlreadyUsed, TicketStateConflict
from ticketing.models import EventPolicy, Ticket


def admit(ticket: Ticket, by: User) -> None:
    """A real scan at the event's default list."""
    result = ticket_scan(
        payload=ticket.qr_payload,
        checkin_list=checkin_list_default(ticket.event),
        scanned_by=by,
    )
    assert result.valid, result


def raw_update(ticket: Ticket, state: TicketState) -> str | None:
    """Write the state with plain SQL, past every service: the SQLSTATE the database refused
    it with, or None if it took it."""
    status, reason = STORED[state]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE ticketing_ticket SET status = %s, void_reason = %s WHERE id = %s",
                [status, reason, ticket.pk],
            )
    except DatabaseError as exc:
        return getattr(exc.__cause__, "sqlstate", "?")
    return None


@pytest.mark.parametrize("admitted", [False, True], ids=["not-admitted", "admitted"])
@pytest.mark.parametrize("refunds_after_entry", [False, True], ids=["rule-off", "rule-on"])
def test_the_database_allows_exactly_the_moves_of_the_table(
    attendee: User,
    door_staff: User,
    tier: TicketTier,
    event: Event,
    admitted: bool,
    refunds_after_entry: bool,
) -> None:
    EventPolicy.objects.create(event=event, refunds_after_entry=refunds_after_entry)
    for old, new in itertools.permutations(TicketState, 2):
        if admitted and old != TicketState.VALID:
            continue  # the door rejects a void ticket: only a valid one gets an admission
        ticket = order_paid(buyer=attendee, tier=tier).tickets[0]
        if admitted:
            admit(ticket, door_staff)
        if old != TicketState.VALID:
            assert raw_update(ticket, old) is None  # to the starting state (valid -> old)
        move = TRANSITIONS.get((old, new))
        refused = raw_update(ticket, new)
        if move is None:
            assert refused == GUARD_SQLSTATE_MOVE, (old, new)
        elif admitted and not (move.after_admission == IF_POLICY and refunds_after_entry):
            assert refused == GUARD_SQLSTATE_USED, (old, new)
        else:
            assert refused is None, (old, new)


def test_no_move_back_to_valid(attendee: User, tier: TicketTier) -> None:
    ticket = order_paid(buyer=attendee, tier=tier).tickets[0]
    with transaction.atomic():
        ticket_transition([ticket], TicketState.REFUNDED)
    with pytest.raises(TicketStateConflict), transaction.atomic():
        ticket_transition([ticket], TicketState.VALID)
    assert raw_update(ticket, TicketState.VALID) == GUARD_SQLSTATE_MOVE


def test_an_admitted_ticket_cannot_be_sent_to_someone_else(
    attendee: User, door_staff: User, tier: TicketTier
) -> None:
    ticket = order_paid(buyer=attendee, tier=tier).tickets[0]
    admit(ticket, door_staff)

    with pytest.raises(TicketAlreadyUsed):
        ticket_transfer_send(sender=attendee, ticket_id=ticket.pk, to_email="friend@example.com")


def test_a_transfer_sent_before_the_scan_cannot_be_accepted_after_it(
    attendee: User, door_staff: User, tier: TicketTier
) -> None:
    ticket = order_paid(buyer=attendee, tier=tier).tickets[0]
    transfer = ticket_transfer_send(
        sender=attendee, ticket_id=ticket.pk, to_email="friend@example.com"
    )
    admit(ticket, door_staff)

    with pytest.raises(TicketAlreadyUsed):
        ticket_transfer_accept(
            recipient=UserFactory.create(email="friend@example.com"), token=transfer.token
        )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.VALID
    assert Ticket.objects.filter(order=ticket.order).count() == 1  # no second ticket


def test_api_transfer_of_a_scanned_ticket_is_refused_with_ticket_already_used(
    client: Client, attendee: User, door_staff: User, event: Event, tier: TicketTier
) -> None:
    api = login(client, attendee)
    order = api.post(
        f"/events/{event.pk}/register",
        {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": "r1"},
    ).json()
    paid = api.post(f"/orders/{order['order_id']}/pay", {"idempotency_key": "p1"}).json()
    [ticket] = Ticket.objects.filter(pk__in=paid["ticket_ids"])
    door = login(Client(), door_staff)
    scan = door.post(
        "/checkin/scan",
        {"payload": ticket.qr_payload, "list_id": str(checkin_list_default(event).pk)},
    ).json()
    assert scan["valid"] is True

    response = api.post(f"/tickets/{ticket.pk}/transfer", {"email": "friend@example.com"})

    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "TICKET_ALREADY_USED"
    assert not ticket.transfers.exists()


def test_a_refund_of_an_admitted_ticket_follows_the_refund_after_entry_rule(
    attendee: User, door_staff: User, event: Event, tier: TicketTier
) -> None:
    paid = order_paid(buyer=attendee, tier=tier, quantity=2)
    first, second = paid.tickets
    admit(first, door_staff)

    with pytest.raises(TicketAlreadyUsed):
        order_refund(
            actor=attendee, order_id=paid.order.pk, ticket_ids=[first.pk], idempotency_key="a"
        )
    # "Everything": only what may be refunded, the admitted ticket stays.
    refund = order_refund(actor=attendee, order_id=paid.order.pk, idempotency_key="b")
    assert list(refund.lines.values_list("ticket_id", flat=True)) == [second.pk]
    first.refresh_from_db()
    assert first.status == Ticket.Status.VALID

    EventPolicy.objects.update_or_create(event=event, defaults={"refunds_after_entry": True})
    order_refund(actor=attendee, order_id=paid.order.pk, ticket_ids=[first.pk], idempotency_key="c")
    first.refresh_from_db()
    assert (first.status, first.void_reason) == STORED[TicketState.REFUNDED]


def test_only_the_lifecycle_module_writes_a_ticket_state() -> None:
    """A reader finds where a ticket's state changes by reading one module."""
    root = pathlib.Path(__file__).resolve().parents[2]
    writes = re.compile(r"void_reason\s*=|\bstatus\s*=\s*Ticket\.Status\.VOID|['\"]void['\"]")
    found = [
        f"{path.relative_to(root)}:{number}"
        for app in ("accounts", "events", "ticketing", "waitlist", "checkin", "notifications")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts and path.name not in ("lifecycle.py", "models.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if writes.search(line)
    ]
    assert found == []
