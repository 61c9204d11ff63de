"""An organizer builds a seat map in the dashboard and puts its seats on sale for an event."""

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership
from events.models import TicketTier
from tests.e2e.conftest import log_in, record_errors
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory
from ticketing.models import EventSeat, MapSeat, SeatMap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("E2E_SCREENSHOTS")  # a folder: keep pictures to look at


@pytest.fixture
def organizer_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A laptop-sized tab of an organizer: the dashboard is a desk job."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = record_errors(page)
    log_in(context, live_server, MembershipFactory.create(role=Membership.Role.OWNER).user)
    yield page
    context.close()
    assert not errors, errors


def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_organizer_generates_edits_and_applies_a_layout(organizer_page: Page) -> None:
    page = organizer_page
    user = Membership.objects.get().user
    event = EventFactory.create(organization=user.organizations.get(), title="Hamlet")
    tier = TicketTierFactory.create(event=event, name="Stalls", capacity=500)

    # From the event's edit page to its seating, and on to the venue's seat maps.
    page.goto(f"/manage/events/{event.pk}/")
    page.get_by_role("link", name="Seating").click()
    expect(page.get_by_role("heading", name="Seating of Hamlet")).to_be_visible()
    page.get_by_role("link", name="Build or import one").click()

    # Generate a block: 3 rows of 6 with an aisle after seat 3.
    page.get_by_label("Layout name").fill("Main floor")
    page.get_by_label("Section").fill("Stalls")
    page.get_by_label("Rows", exact=True).fill("3")
    page.get_by_label("Seats per row").fill("6")
    page.get_by_label("Zone").fill("A")
    page.get_by_label("Aisles after seat numbers").fill("3")
    page.get_by_role("button", name="Create layout").click()
    expect(page.get_by_role("heading", name="Main floor")).to_contain_text("18 seats")
    expect(page.locator(".seat-svg .seat")).to_have_count(18)
    shot(page, "1-generated")

    # Remove a seat.
    page.get_by_label("Select Stalls C-6").check()
    page.get_by_label("Action").select_option(label="Remove seats")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Remove seats: 1 seat.")
    expect(page.locator(".seat-svg .seat")).to_have_count(17)

    # Mark a wheelchair space: the preview draws it as a square.
    page.get_by_label("Select Stalls C-1").check()
    page.get_by_label("Action").select_option(label="Mark wheelchair space")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator('.seat-svg [data-label="Stalls C-1"] rect')).to_have_count(1)
    expect(page.locator(".seat-svg .seat rect")).to_have_count(1)
    shot(page, "2-edited")

    seat_map = SeatMap.objects.get(name="Main floor")
    assert not MapSeat.objects.filter(seat_map=seat_map, row="C", number="6").exists()
    assert MapSeat.objects.get(seat_map=seat_map, row="C", number="1").wheelchair

    # Apply it to the event: zone A onto the Stalls tier.
    page.goto(f"/manage/events/{event.pk}/seating/")
    page.get_by_label("Layout", exact=True).select_option(label="Main floor (17 seats)")
    page.get_by_role("button", name="Choose").click()
    page.get_by_label("Zone A").select_option(label="Stalls (25.00)")
    page.get_by_role("button", name="Apply to this event").click()

    expect(page.get_by_role("status")).to_contain_text("17 seats from Main floor are now on sale")
    expect(page.locator(".seat-svg .seat")).to_have_count(17)
    stalls_row = page.locator("#tier-counts tr", has_text="Stalls")
    expect(stalls_row).to_contain_text("17")
    expect(page.locator('.seat-svg [data-label="Stalls C-1"] rect')).to_have_count(1)
    shot(page, "3-applied")

    assert EventSeat.objects.filter(event=event).count() == 17
    assert TicketTier.objects.get(pk=tier.pk).capacity == 17
