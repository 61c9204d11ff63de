"""Public and organizer event pages: bad input is a form error on the page, never a 500."""

import pytest
from django.test import Client

from accounts.models import User
from events.models import Event, TicketTier
from tests.factories import EventFactory, order_reserved


@pytest.fixture
def organizer_client(client: Client, organizer: User) -> Client:
    client.force_login(organizer)
    return client


def event_form(**changes: str) -> dict[str, str]:
    data = {
        "title": "Late Jazz",
        "description": "",
        "category": "",
        "venue_name": "Cellar",
        "venue_address": "",
        "venue_city": "Cologne",
        "time_zone": "Europe/Berlin",
        "starts_at": "2031-05-01T20:00",
        "ends_at": "2031-05-01T23:00",
        "currency": "EUR",
        "tiers-TOTAL_FORMS": "1",
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "1",
        "tiers-MAX_NUM_FORMS": "1000",
        "tiers-0-id": "",
        "tiers-0-name": "Standing",
        "tiers-0-price": "15.00",
        "tiers-0-capacity": "80",
        "tiers-0-max_per_order": "10",
    }
    data.update(changes)
    return data


def test_organizer_form_creates_a_draft_in_the_events_time_zone(
    organizer_client: Client, organizer: User
) -> None:
    response = organizer_client.post("/manage/events/new/", event_form())

    event = Event.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/manage/events/{event.pk}/"
    assert event.organization == organizer.organizations.get()
    assert event.status == Event.Status.DRAFT
    assert event.local_starts_at.strftime("%Y-%m-%d %H:%M") == "2031-05-01 20:00"
    assert event.starts_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert event.starts_at.hour == 18  # 20:00 in Berlin (CEST) is 18:00 UTC
    assert list(event.tiers.values_list("name", "capacity")) == [("Standing", 80)]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_at": "2031-05-01T19:00"}, "ends_at", "cannot end before it starts"),
        ({"tiers-0-price": "-5"}, "price", "greater than or equal to 0"),
        ({"tiers-0-price": "ten"}, "price", "Enter a number"),
        ({"tiers-0-capacity": "-1"}, "capacity", "greater than or equal to 0"),
        ({"tiers-0-max_per_order": "0"}, "max_per_order", "greater than or equal to 1"),
        ({"starts_at": "tomorrow-ish"}, "starts_at", "Enter a valid date/time"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
        ({"title": ""}, "title", "This field is required"),
        ({"title": "t" * 201}, "title", "at most 200 characters"),
        ({"title": "nul\x00byte"}, "title", "Null characters are not allowed"),
        ({"tiers-TOTAL_FORMS": "0"}, None, "Please submit at least 1 form"),
        ({"tiers-TOTAL_FORMS": "garbage"}, None, "Please submit at least 1 form"),
    ],
    ids=[
        "ends-before-start",
        "negative-price",
        "text-price",
        "negative-capacity",
        "zero-per-order",
        "bad-date",
        "bad-tz",
        "no-title",
        "long-title",
        "nul-title",
        "no-tiers",
        "broken-management-form",
    ],
)
def test_bad_organizer_form_is_a_form_error_and_creates_nothing(
    organizer_client: Client, changes: dict[str, str], field: str | None, message: str
) -> None:
    response = organizer_client.post("/manage/events/new/", event_form(**changes))

    assert response.status_code == 200
    assert message in response.content.decode()
    if field is not None:
        errors = response.context["form"].errors
        tier_errors = response.context["tiers"].errors
        assert field in errors or any(field in e for e in tier_errors)
    assert Event.objects.count() == 0
    assert TicketTier.objects.count() == 0


def test_editing_with_a_negative_price_changes_nothing(
    organizer_client: Client, tier: TicketTier
) -> None:
    event = tier.event
    data = event_form(
        **{
            "tiers-INITIAL_FORMS": "1",
            "tiers-0-id": str(tier.pk),
            "tiers-0-price": "-1",
            "title": "Changed",
        }
    )

    response = organizer_client.post(f"/manage/events/{event.pk}/", data)

    assert response.status_code == 200
    tier.refresh_from_db()
    event.refresh_from_db()
    assert tier.price >= 0
    assert event.title != "Changed"


def test_editing_capacity_below_sold_is_a_form_error(
    organizer_client: Client, attendee: User, tier: TicketTier
) -> None:
    order_reserved(buyer=attendee, tier=tier, quantity=3)
    data = event_form(
        **{"tiers-INITIAL_FORMS": "1", "tiers-0-id": str(tier.pk), "tiers-0-capacity": "2"}
    )

    response = organizer_client.post(f"/manage/events/{tier.event_id}/", data)

    assert response.status_code == 200
    assert "already sold or held" in response.content.decode()
    tier.refresh_from_db()
    assert tier.capacity == 100


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "garbage"},
        {"end_date": "2024-13-45"},
        {"start_date": "2030-02-01", "end_date": "2030-01-01"},
        {"category": "no-such-category"},
        {"q": "q" * 201},
        {"q": "nul\x00"},
        {"page": "-7"},
        {"page": "lots"},
    ],
    ids=["bad-start", "bad-end", "end-before-start", "category", "long-q", "nul", "page", "page2"],
)
def test_bad_search_filters_show_the_page_never_a_500(
    client: Client, db: None, params: dict[str, str]
) -> None:
    shown = EventFactory.create(title="Still listed")

    response = client.get("/events/", params)

    assert response.status_code == 200
    form = response.context["form"]
    if set(params) != {"page"}:
        assert form.errors
    assert shown.title in response.content.decode()


def test_search_filters_narrow_the_list(client: Client, db: None) -> None:
    EventFactory.create(title="Jazz by the river")
    EventFactory.create(title="Rock night")

    response = client.get("/events/", {"q": "river"})

    titles = [e.title for e in response.context["result"].events]
    assert titles == ["Jazz by the river"]


def test_event_page_redirects_to_its_slug_and_hides_drafts(client: Client, db: None) -> None:
    event = EventFactory.create(slug="the-slug")
    draft = EventFactory.create(status=Event.Status.DRAFT)

    response = client.get(f"/events/{event.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/events/{event.pk}/the-slug/"
    assert client.get(response["Location"]).status_code == 200
    assert client.get(f"/events/{draft.pk}/").status_code == 404
