"""Door staff scan only for their own organization's events."""

import json

import pytest
from django.test import Client

from accounts.models import User
from checkin.models import Admission, CheckinList, Scan
from checkin.services import checkin_list_default
from events.models import Event
from tests.factories import PASSWORD, EventFactory, TicketTierFactory, UserFactory, order_paid
from ticketing.models import Ticket


@pytest.fixture
def foreign_ticket(db: None) -> Ticket:
    """A valid ticket of an event of an organization the door staff do not belong to."""
    tier = TicketTierFactory.create(event=EventFactory.create())
    return order_paid(buyer=UserFactory.create(), tier=tier).tickets[0]


@pytest.fixture
def door_client(client: Client, door_staff: User) -> Client:
    client.force_login(door_staff)
    return client


def test_door_staff_get_404_on_another_organizations_scanner_page(
    door_client: Client, foreign_ticket: Ticket
) -> None:
    response = door_client.get(f"/door/{foreign_ticket.event_id}/")

    assert response.status_code == 404
    assert CheckinList.objects.filter(event_id=foreign_ticket.event_id).count() == 0


def test_door_staff_cannot_scan_at_another_organizations_scanner(
    door_client: Client, foreign_ticket: Ticket
) -> None:
    page = door_client.post(
        f"/door/{foreign_ticket.event_id}/", {"payload": foreign_ticket.qr_payload}
    )
    script = door_client.post(
        f"/door/{foreign_ticket.event_id}/scan",
        json.dumps({"payload": foreign_ticket.qr_payload}),
        content_type="application/json",
    )

    assert (page.status_code, script.status_code) == (404, 404)
    assert Scan.objects.count() == 0
    assert Admission.objects.count() == 0


def test_door_staff_can_open_their_own_scanner_and_admit(
    door_client: Client, event: Event, ticket: Ticket
) -> None:
    assert door_client.get(f"/door/{event.pk}/").status_code == 200

    response = door_client.post(f"/door/{event.pk}/", {"payload": ticket.qr_payload})

    assert response.status_code == 200
    assert response.context["result"].valid
    assert Admission.objects.filter(ticket=ticket).count() == 1


def test_door_event_list_shows_only_their_organizations_events(
    door_client: Client, event: Event, foreign_ticket: Ticket
) -> None:
    response = door_client.get("/door/")

    assert list(response.context["events"]) == [event]


def test_attendee_without_membership_gets_404_at_the_door(
    client: Client, attendee: User, event: Event
) -> None:
    client.force_login(attendee)

    assert client.get(f"/door/{event.pk}/").status_code == 404


def bearer(client: Client, user: User) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token",
        json.dumps({"email": user.email, "password": PASSWORD}),
        content_type="application/json",
    )
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_api_scan_of_another_organizations_ticket_is_404(
    client: Client, door_staff: User, foreign_ticket: Ticket
) -> None:
    response = client.post(
        "/api/v1/checkin/scan",
        json.dumps({"payload": foreign_ticket.qr_payload}),
        content_type="application/json",
        headers=bearer(client, door_staff),
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert Scan.objects.count() == 0
    assert Admission.objects.count() == 0


def test_api_scan_against_another_organizations_list_is_404(
    client: Client, door_staff: User, foreign_ticket: Ticket
) -> None:
    foreign_list = checkin_list_default(foreign_ticket.event)

    response = client.post(
        "/api/v1/checkin/scan",
        json.dumps({"payload": foreign_ticket.qr_payload, "list_id": str(foreign_list.pk)}),
        content_type="application/json",
        headers=bearer(client, door_staff),
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert Scan.objects.count() == 0
