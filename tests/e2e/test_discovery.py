"""On a 360-px phone: search, filter, open an event, star two sessions, download the agenda."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from events import agenda
from events.models import SessionStar
from tests.e2e.conftest import log_in, phone_context, record_errors
from tests.events.helpers import make_event
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fan_phone(browser: Browser, live_server: LiveServer) -> Iterator[tuple[Page, User]]:
    context = phone_context(browser, live_server)
    page = context.new_page()
    errors = record_errors(page)
    fan = UserFactory.create()
    log_in(context, live_server, fan)
    yield page, fan
    context.close()
    assert not errors, errors


def test_search_filter_open_star_two_sessions_and_download_the_agenda(
    fan_phone: tuple[Page, User], tmp_path: Path
) -> None:
    page, fan = fan_phone
    organizer = MembershipFactory.create().user
    conf = make_event(
        "Jazz Festival",
        organization=organizer.organizations.get(),
        category="Jazz",
        city="Hamburg",
        hours=8,
        description="Three stages of **jazz** by the harbour.",
    )
    make_event("Jazz Brunch", category="Jazz", city="Bonn")
    make_event("Rock Night", category="Rock", city="Hamburg")
    for minutes, title, room in ((0, "Opening set", "Main"), (30, "Piano trio", "Club")):
        start = conf.starts_at + timedelta(minutes=minutes)
        agenda.session_save(
            actor=organizer,
            event=conf,
            title=title,
            starts_at=start,
            ends_at=start + timedelta(minutes=60),
            room_name=room,
            speaker_names=[f"{title} band"],
        )

    # Search from the box on every page, misspelt.
    page.goto("/")
    page.get_by_role("searchbox", name="Search events").fill("jaz festivl")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Jazz Festival")).to_be_visible()
    expect(page.locator("mark").first).to_be_visible()

    # Filter: all jazz, then narrow to Hamburg with the city facet.
    page.goto("/events/?q=jazz")
    expect(page.get_by_text("2 events", exact=True)).to_be_visible()
    page.locator(".facets").get_by_role("link", name="Hamburg 1").click()
    expect(page.get_by_text("1 event", exact=True)).to_be_visible()
    page.get_by_role("link", name="Jazz Festival").click()

    # The event page: description, agenda; star both sessions (they overlap).
    expect(page.get_by_role("heading", name="Jazz Festival", level=1)).to_be_visible()
    expect(page.locator(".description strong")).to_have_text("jazz")
    page.locator("#agenda").get_by_role("button", name="☆ Add to my agenda").first.click()
    expect(page.get_by_text("Added to your agenda.")).to_be_visible()
    page.locator("#agenda").get_by_role("button", name="☆ Add to my agenda").first.click()
    expect(page.get_by_text("Overlaps “Opening set” on your agenda.")).to_be_visible()
    assert SessionStar.objects.filter(user=fan).count() == 2

    # Fits the phone: nothing wider than the 360-px viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # My agenda, and its .ics download.
    page.goto("/agenda/")
    expect(page.get_by_role("alert")).to_contain_text("overlap")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my agenda (.ics)").click()
    target = tmp_path / "agenda.ics"
    download_info.value.save_as(target)
    calendar = Calendar.from_ical(target.read_bytes())
    assert sorted(str(e["summary"]) for e in calendar.walk("VEVENT")) == [
        "Opening set (Jazz Festival)",
        "Piano trio (Jazz Festival)",
    ]
