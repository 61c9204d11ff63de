"""The door finds a guest by name, email or order number and admits them without their phone."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEntry, User
from checkin.models import Admission, CheckinList, DeviceLink, Scan
from checkin.selectors import door_guests_find
from checkin.services import device_link_create, ticket_admit_manually
from events.models import TicketTier
from tests.factories import EventFactory, TicketTierFactory, UserFactory, order_paid
from ticketing.models import Ticket


@pytest.fixture
def guest(tier: TicketTier) -> Ticket:
    buyer = UserFactory.create(email="greta.garbo@example.com", full_name="Greta Garbo")
    ticket = order_paid(buyer=buyer, tier=tier).tickets[0]
    Ticket.objects.filter(pk=ticket.pk).update(attendee_name="Greta Garbo")
    ticket.refresh_from_db()
    return ticket


@pytest.mark.parametrize("query", ["greta", "GARBO", "greta garbo", "garbo@example", "order"])
def test_a_guest_is_found_by_name_email_or_order_number(
    gate: CheckinList, guest: Ticket, ticket: Ticket, query: str
) -> None:
    if query == "order":
        query = str(guest.order_id)[:8]

    found = door_guests_find(gate, query)

    assert [t.pk for t in found] == [guest.pk]


@pytest.mark.parametrize(
    "typed",
    [
        lambda t: t.order.code,  # "2UAY BE7M", as the confirmation prints it
        lambda t: t.order.ref.lower(),
        lambda t: t.order.code.split()[0],  # the first group
        lambda t: t.code,
        lambda t: t.ref[:4] + "-" + t.ref[4:],
    ],
    ids=["order", "order-lower-case", "order-first-group", "ticket", "ticket-with-dash"],
)
def test_a_guest_is_found_by_the_reference_on_their_confirmation(
    gate: CheckinList, guest: Ticket, ticket: Ticket, typed: Any
) -> None:
    query = typed(guest)

    found = door_guests_find(gate, query)

    assert guest.pk in [t.pk for t in found], query
    assert ticket.pk not in [t.pk for t in found], query


def test_a_name_that_could_be_a_reference_still_finds_the_guest(
    gate: CheckinList, tier: TicketTier
) -> None:
    buyer = UserFactory.create(full_name="Margaret Hughes")  # MARGARET: 8 letters of the alphabet
    margaret = order_paid(buyer=buyer, tier=tier).tickets[0]
    Ticket.objects.filter(pk=margaret.pk).update(attendee_name="Margaret Hughes")

    assert [t.pk for t in door_guests_find(gate, "margaret")] == [margaret.pk]


def test_guests_of_other_events_are_never_found(gate: CheckinList, guest: Ticket) -> None:
    other = TicketTierFactory.create(event=EventFactory.create())
    buyer = UserFactory.create(full_name="Greta Other")
    other_ticket = order_paid(buyer=buyer, tier=other).tickets[0]
    Ticket.objects.filter(pk=other_ticket.pk).update(attendee_name="Greta Other")

    assert [t.pk for t in door_guests_find(gate, "greta")] == [guest.pk]


def test_manual_admission_is_the_one_admission_and_is_audited(
    gate: CheckinList, guest: Ticket, door_staff: User
) -> None:
    first = ticket_admit_manually(ticket_id=guest.pk, checkin_list=gate, actor=door_staff)
    second = ticket_admit_manually(ticket_id=guest.pk, checkin_list=gate, actor=door_staff)

    assert first.valid and first.attendee_name == "Greta Garbo"
    assert not second.valid and second.already_used
    assert Admission.objects.filter(ticket=guest).count() == 1
    assert Scan.objects.filter(ticket=guest, device_id="door-lookup").count() == 2
    audits = AuditEntry.objects.filter(action="checkin.manual", target_id=str(guest.pk))
    assert [a.changes["valid"] for a in audits.order_by("pk")] == [True, False]
    assert audits.first().actor == door_staff  # type: ignore[union-attr]


def test_door_page_lists_the_guest_and_admits_with_one_tap(
    client: Client, gate: CheckinList, guest: Ticket, door_staff: User
) -> None:
    client.force_login(door_staff)
    url = f"/door/{gate.event_id}/"

    page = client.get(url, {"guest": "garbo", "list": str(gate.pk)}).content.decode()
    assert "Greta Garbo" in page and "Admit Greta Garbo" in page

    response = client.post(
        f"/door/{gate.event_id}/admit", {"ticket": guest.pk, "list": gate.pk, "guest": "garbo"}
    )
    assert response.status_code == 302
    after = client.get(response["Location"]).content.decode()
    assert "Admitted: Greta Garbo" in after
    assert "In since" in after
    assert Admission.objects.filter(ticket=guest).count() == 1


def test_someone_without_door_access_cannot_look_up_or_admit(
    client: Client, gate: CheckinList, guest: Ticket
) -> None:
    client.force_login(UserFactory.create())

    assert client.get(f"/door/{gate.event_id}/", {"guest": "garbo"}).status_code == 404
    response = client.post(f"/door/{gate.event_id}/admit", {"ticket": guest.pk})
    assert response.status_code == 404
    assert not Admission.objects.exists()


def test_a_device_link_gets_no_guest_list(
    client: Client, gate: CheckinList, guest: Ticket, organizer: User
) -> None:
    link, token = device_link_create(checkin_list=gate, actor=organizer, label="Gate phone")
    assert isinstance(link, DeviceLink)

    page = client.get(f"/door/link/{token}/", {"guest": "garbo"}).content.decode()

    assert "Find a guest" not in page
    assert "Greta Garbo" not in page
