"""A door scan and a transfer of the same ticket at the same moment let one seat in once.

The scan reads the ticket (valid) and only then writes the admission; the transfer can commit
in between. Each test holds the scan at exactly that point until the transfer has committed.
"""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from checkin import services
from checkin.models import Admission, Scan
from checkin.services import ScanResult, checkin_list_default, ticket_scan
from tests.factories import (
    EventFactory,
    MembershipFactory,
    TicketTierFactory,
    UserFactory,
    order_paid,
)
from ticketing.aftersale.transfers import ticket_transfer_accept, ticket_transfer_send
from ticketing.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

# The part of the admission statement that re-checks the ticket under a share lock.
VALID_UNDER_LOCK = "AND t.status = 'valid' FOR SHARE"


def scan_while_transferred(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[ScanResult, Ticket, Ticket]:
    door = MembershipFactory.create(role="door").user
    tier = TicketTierFactory.create(
        event=EventFactory.create(organization=door.organizations.get())
    )
    buyer, friend = UserFactory.create(), UserFactory.create()
    ticket = order_paid(buyer=buyer, tier=tier).tickets[0]
    gate = checkin_list_default(tier.event)
    sent = ticket_transfer_send(sender=buyer, ticket_id=ticket.pk, to_email=friend.email)

    verdict_read, transfer_done = threading.Event(), threading.Event()
    run: Callable[[str, dict[str, Any]], Any] = services._run

    def run_pausing_after_the_read(name: str, params: dict[str, Any]) -> Any:
        row = run(name, params)
        if name == "context" and not verdict_read.is_set():
            verdict_read.set()
            assert transfer_done.wait(timeout=30)
        return row

    monkeypatch.setattr(services, "_run", run_pausing_after_the_read)
    results: list[ScanResult] = []
    errors: list[BaseException] = []

    def door_scan() -> None:
        try:
            results.append(
                ticket_scan(payload=ticket.qr_payload, checkin_list=gate, scanned_by=door)
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=door_scan)
    thread.start()
    assert verdict_read.wait(timeout=30)
    new_ticket = ticket_transfer_accept(recipient=friend, token=sent.token)
    transfer_done.set()
    thread.join(timeout=60)
    assert errors == []
    # The new holder comes to the door too.
    ticket_scan(payload=new_ticket.qr_payload, checkin_list=gate, scanned_by=door)
    return results[0], ticket, new_ticket


def test_a_ticket_transferred_while_its_scan_is_in_flight_is_not_admitted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, old, new = scan_while_transferred(monkeypatch)

    assert (result.valid, result.reason) == (False, "transferred")
    assert Scan.objects.get(pk=result.scan_id).result == Scan.Result.REJECTED
    old.refresh_from_db()
    assert old.status == Ticket.Status.VOID
    assert not Admission.objects.filter(ticket=old).exists()
    assert Admission.objects.filter(ticket=new).count() == 1


def test_negative_control_without_the_recheck_the_seat_gets_in_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The admission as it was (no re-check of the ticket): the same interleaving admits the
    voided ticket and then its replacement, so the test above can see the race."""
    statements = services._sql()
    assert all(VALID_UNDER_LOCK in statements[kind] for kind in ("once", "reentry", "takeover"))
    unguarded = {name: sql.replace(VALID_UNDER_LOCK, "") for name, sql in statements.items()}
    monkeypatch.setattr(services, "_sql", lambda: unguarded)

    result, old, new = scan_while_transferred(monkeypatch)

    assert (result.valid, result.reason) == (True, "ok")
    old.refresh_from_db()
    assert old.status == Ticket.Status.VOID
    assert Admission.objects.filter(ticket__in=[old, new]).count() == 2
