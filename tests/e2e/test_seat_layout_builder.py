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


def test_organizer_draws_a_block_by_dragging_and_rezones_seats_picked_by_dragging(
    organizer_page: Page,
) -> None:
    page = organizer_page
    user = Membership.objects.get().user
    event = EventFactory.create(organization=user.organizations.get(), title="Drawn Hall")
    page.goto(f"/manage/venues/{event.venue.pk}/seat-maps/")
    page.get_by_label("Layout name").fill("Drawn")
    page.get_by_label("Section").fill("Stalls")
    page.get_by_label("Rows", exact=True).fill("2")
    page.get_by_label("Seats per row").fill("4")
    page.get_by_label("Zone").fill("A")
    page.get_by_role("button", name="Create layout").click()
    expect(page.get_by_role("heading", name="Drawn")).to_contain_text("8 seats")
    seat_map = SeatMap.objects.get(name="Drawn")

    # Drag from the grid point under the stalls' first seat (x 0, y 3) to 3 rows x 5 seats.
    board = page.locator(".seat-preview svg")
    first = page.locator('.seat-svg .seat[data-x="0"][data-y="0"]').bounding_box()
    second = page.locator('.seat-svg .seat[data-x="1"][data-y="1"]').bounding_box()
    assert first and second
    step_x, step_y = second["x"] - first["x"], second["y"] - first["y"]
    origin_x, origin_y = first["x"] + first["width"] / 2, first["y"] + first["height"] / 2
    page.mouse.move(origin_x, origin_y + 3 * step_y)
    page.mouse.down()
    page.mouse.move(origin_x + 2 * step_x, origin_y + 4 * step_y, steps=5)
    page.mouse.move(origin_x + 4 * step_x, origin_y + 5 * step_y, steps=5)
    page.mouse.up()
    expect(
        page.locator("#board-status").filter(has_text="Drawn: 3 rows of 5 seats at x 0, y 3")
    ).to_be_visible()
    expect(board.locator(".draft-seat")).to_have_count(15)
    expect(page.locator("#block-form").get_by_label("Section")).to_be_focused()
    page.locator("#block-form").get_by_label("Section").fill("Rear")
    page.locator("#block-form").get_by_label("Zone").fill("B")
    page.get_by_role("button", name="Add block").click()

    expect(page.get_by_role("heading", name="Drawn")).to_contain_text("23 seats")
    rear = MapSeat.objects.filter(seat_map=seat_map, section="Rear")
    assert rear.count() == 15
    assert {(s.x, s.y) for s in rear} == {(x, y) for x in range(5) for y in range(3, 6)}

    # Pick the first row of the stalls by dragging over it, then move those seats to zone C.
    page.get_by_role("button", name="Pick seats").click()
    row_a = [
        page.locator(f'.seat-svg .seat[data-x="{x}"][data-y="0"]').bounding_box() for x in (0, 3)
    ]
    assert row_a[0] and row_a[1]
    page.mouse.move(row_a[0]["x"] - 4, row_a[0]["y"] - 4)
    page.mouse.down()
    page.mouse.move(
        row_a[1]["x"] + row_a[1]["width"] + 4, row_a[1]["y"] + row_a[1]["height"] + 4, steps=8
    )
    page.mouse.up()
    expect(page.locator("#board-status").filter(has_text="4 seats picked")).to_be_visible()
    page.get_by_label("Action").select_option(label="Set zone")
    page.get_by_label("New zone").fill("C")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_text("Set zone: 4 seats.")).to_be_visible()
    assert set(
        MapSeat.objects.filter(seat_map=seat_map, zone="C").values_list("section", "row")
    ) == {("Stalls", "A")}
