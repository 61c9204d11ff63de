"""An organizer sees and changes only their own organization's events: anything else is a 404."""

import json

import pytest
from django.test import Client

from accounts.models import AuditEntry, Membership, User
from events.models import Event
from tests.factories import PASSWORD, EventFactory, MembershipFactory, TicketTierFactory


@pytest.fixture
def foreign_draft(db: None) -> Event:
    """A draft with a tier, of an organization the `organizer` fixture has nothing to do with."""
    event = EventFactory.create(status=Event.Status.DRAFT)
    TicketTierFactory.create(event=event)
    return event


@pytest.fixture
def organizer_client(client: Client, organizer: User) -> Client:
    client.force_login(organizer)
    return client


def test_organizer_gets_404_on_another_organizations_event_page(
    organizer_client: Client, foreign_draft: Event
) -> None:
    response = organizer_client.get(f"/manage/events/{foreign_draft.pk}/")

    assert response.status_code == 404


def test_organizer_cannot_edit_another_organizations_event(
    organizer_client: Client, foreign_draft: Event
) -> None:
    response = organizer_client.post(f"/manage/events/{foreign_draft.pk}/", {"title": "Mine now"})

    assert response.status_code == 404
    foreign_draft.refresh_from_db()
    assert foreign_draft.title != "Mine now"


@pytest.mark.parametrize("action", ["publish", "cancel", "delete"])
def test_organizer_gets_404_on_actions_for_another_organizations_event(
    organizer_client: Client, foreign_draft: Event, action: str
) -> None:
    response = organizer_client.post(f"/manage/events/{foreign_draft.pk}/{action}")

    assert response.status_code == 404
    foreign_draft.refresh_from_db()  # still there, still a draft
    assert foreign_draft.status == Event.Status.DRAFT
    assert not AuditEntry.objects.filter(target_id=str(foreign_draft.pk)).exists()


@pytest.mark.parametrize("action", ["publish", "delete"])
def test_organizer_can_run_actions_on_their_own_event(
    organizer_client: Client, organizer: User, action: str
) -> None:
    own = EventFactory.create(organization=organizer.organizations.get(), status=Event.Status.DRAFT)
    TicketTierFactory.create(event=own)

    response = organizer_client.post(
        f"/manage/events/{own.pk}/{action}", {"confirm_name": own.title}
    )

    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=f"event.{action}", target_id=str(own.pk)).exists()


def test_organizer_list_shows_only_their_own_events(
    organizer_client: Client, event: Event, foreign_draft: Event
) -> None:
    response = organizer_client.get("/manage/events/")

    assert response.status_code == 200
    assert list(response.context["events"]) == [event]
    assert foreign_draft.title not in response.content.decode()


def test_door_staff_cannot_open_organizer_pages(
    client: Client, door_staff: User, event: Event
) -> None:
    client.force_login(door_staff)

    assert client.get("/manage/").status_code == 404
    assert client.get(f"/manage/events/{event.pk}/").status_code == 404
    assert client.post(f"/manage/events/{event.pk}/cancel").status_code == 404
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def api_token(client: Client, user: User) -> str:
    response = client.post(
        "/api/v1/auth/token",
        json.dumps({"email": user.email, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200
    return response.json()["token"]


def test_api_publish_of_another_organizations_event_is_404(
    client: Client, organizer: User, foreign_draft: Event
) -> None:
    token = api_token(client, organizer)

    response = client.post(
        f"/api/v1/events/{foreign_draft.pk}/publish",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    foreign_draft.refresh_from_db()
    assert foreign_draft.status == Event.Status.DRAFT
    assert not AuditEntry.objects.filter(target_id=str(foreign_draft.pk)).exists()


def test_api_publish_by_a_manager_of_the_organization_works(
    client: Client, foreign_draft: Event
) -> None:
    manager = MembershipFactory.create(
        organization=foreign_draft.organization, role=Membership.Role.MANAGER
    ).user
    token = api_token(client, manager)

    response = client.post(
        f"/api/v1/events/{foreign_draft.pk}/publish",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    assert response.json()["status"] == "published"
    foreign_draft.refresh_from_db()
    assert foreign_draft.status == Event.Status.PUBLISHED


def test_api_create_event_is_forbidden_for_someone_without_an_organization(
    client: Client, attendee: User
) -> None:
    token = api_token(client, attendee)

    response = client.post(
        "/api/v1/events",
        json.dumps(
            {
                "title": "Sneaky",
                "venue_name": "Hall",
                "city": "Berlin",
                "starts_at": "2030-01-01T19:00:00Z",
                "ends_at": "2030-01-01T22:00:00Z",
                "tiers": [{"name": "GA", "price": "10.00", "capacity": 10}],
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert Event.objects.count() == 0
