"""Public lists hide test events; sold-out events offer the waitlist; the organizer's tabs and
the typed confirmation that guards cancelling an event."""

import re

import pytest
from django.test import Client

from accounts.models import User
from events.models import Event, TicketTier
from tests.factories import EventFactory, TicketTierFactory


@pytest.fixture
def organizer_client(client: Client, organizer: User) -> Client:
    client.force_login(organizer)
    return client


def test_a_test_event_is_reachable_by_its_link_but_never_listed_or_found(
    client: Client, organizer: User
) -> None:
    organization = organizer.organizations.get()
    listed = EventFactory.create(organization=organization, title="Harbour Lights Concert")
    rehearsal = EventFactory.create(
        organization=organization, title="Harbour Lights Soundcheck", is_test=True
    )
    for event in (listed, rehearsal):
        TicketTierFactory.create(event=event)

    pages = [client.get(path).content.decode() for path in ("/", "/events/", "/events/?q=harbour")]

    for path, page in zip(("/", "/events/", "/events/?q=harbour"), pages, strict=True):
        assert listed.get_absolute_url() in page, path
        assert str(rehearsal.pk) not in page, path
    assert client.get(rehearsal.get_absolute_url()).status_code == 200
    api = client.get("/api/v1/events?q=harbour").json()
    assert [e["title"] for e in api["items"]] == [listed.title]


def test_a_sold_out_event_offers_the_waitlist_instead_of_book(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    client.force_login(attendee)
    TicketTier.objects.filter(pk=tier.pk).update(sold_count=tier.capacity)

    page = client.get(tier.event.get_absolute_url()).content.decode()
    card = client.get("/events/").content.decode()

    assert ">Join waitlist</a>" in page
    assert ">Book</button>" not in page
    assert "Sold out" in card


def test_an_event_on_sale_shows_book(client: Client, attendee: User, tier: TicketTier) -> None:
    client.force_login(attendee)

    page = client.get(tier.event.get_absolute_url()).content.decode()

    assert ">Book</button>" in page
    assert "Join waitlist" not in page


TABS = ("Overview", "Orders", "Attendees", "Seating", "Sessions", "Check-in", "Settings")


def event_tabs(page: str) -> list[tuple[str, str, bool]]:
    """(label, link, marked as the current page) of each tab on an organizer's event page."""
    nav = page.split('aria-label="Event sections"', 1)[1].split("</nav>", 1)[0]
    return [
        (label, href, bool(current))
        for href, current, label in re.findall(
            r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav
        )
    ]


def test_every_tab_leads_to_a_page_with_the_same_tabs_and_that_tab_marked(
    organizer_client: Client, event: Event
) -> None:
    tabs = event_tabs(organizer_client.get(f"/manage/events/{event.pk}/").content.decode())
    assert [label for label, _, _ in tabs] == list(TABS)

    for label, href, _ in tabs:
        response = organizer_client.get(href)
        assert response.status_code == 200, href
        shown = event_tabs(response.content.decode())
        assert [(lbl, link) for lbl, link, _ in shown] == [(lbl, link) for lbl, link, _ in tabs]
        assert [lbl for lbl, _, current in shown if current] == [label], href


def test_pages_inside_a_section_mark_its_tab(organizer_client: Client, event: Event) -> None:
    inside = {
        f"/manage/events/{event.pk}/attendance/": "Check-in",
        f"/manage/events/{event.pk}/feedback/": "Sessions",
    }
    for path, section in inside.items():
        shown = event_tabs(organizer_client.get(path).content.decode())
        assert [label for label, _, current in shown if current] == [section], path


def test_the_role_bar_marks_one_section_as_current(organizer_client: Client, event: Event) -> None:
    """The organizer's dashboard lives at /manage/, a prefix of every organizer page: it is the
    current section on that page only."""
    sections = {"/manage/": "Dashboard", f"/manage/events/{event.pk}/dashboard": "Events"}
    for path, current in sections.items():
        page = organizer_client.get(path).content.decode()
        role_bar = page.split('class="role-bar"', 1)[1].split("</nav>", 1)[0]
        assert role_bar.count('aria-current="page"') == 1, path
        assert f'aria-current="page">{current}<' in role_bar, path


def test_sales_page_no_longer_reloads_itself(organizer_client: Client, event: Event) -> None:
    page = organizer_client.get(f"/manage/events/{event.pk}/dashboard").content.decode()

    assert 'http-equiv="refresh"' not in page
    assert 'role="region"' in page


def test_cancelling_needs_the_event_name_typed(organizer_client: Client, event: Event) -> None:
    url = f"/manage/events/{event.pk}/cancel"

    organizer_client.post(url, {"confirm_name": "wrong event"})
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED

    organizer_client.post(url, {"confirm_name": f"  {event.title.upper()} "})
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED


def test_dangerous_actions_come_last_on_the_settings_tab(
    organizer_client: Client, event: Event
) -> None:
    page = organizer_client.get(f"/manage/events/{event.pk}/").content.decode()

    assert page.index("Save changes") < page.index("Danger zone") < page.index("refund everyone")
    assert f'data-confirm-name="{event.title}"' in page
