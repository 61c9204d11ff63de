"""The seat map on a phone and a wide screen: the whole hall fits, seats are big enough to tap,
the keyboard has one way in and arrow keys inside, and nothing fails axe."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import log_in, phone_context, record_errors
from tests.factories import UserFactory
from tests.ticketing.seated import seated_event
from ticketing.models import Ticket
from ticketing.seating.services import SeatBlock

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The demo concert hall: 400 seats downstairs and 250 on the balcony, with aisles.
HALL = (
    SeatBlock(section="Parterre", rows=16, seats_per_row=25, zone="A", aisles_after=(6, 19)),
    SeatBlock(section="Balcony", rows=10, seats_per_row=25, zone="B", aisles_after=(12,), y=18),
)


def desktop_page(browser: Browser, live_server: LiveServer) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    return context.new_page()


def test_the_whole_hall_fits_a_phone_with_the_stage_centred(
    phone: Page, live_server: LiveServer
) -> None:
    event, _ = seated_event(*HALL, title="Symphony Test", prices={"A": "90.00", "B": "55.00"})
    phone.goto(f"/events/{event.pk}/seats/")

    port = phone.locator("#seatmap-viewport").bounding_box()
    hall = phone.locator("#seatmap").bounding_box()
    assert port and hall
    assert hall["width"] <= port["width"] + 1, "no seat cut off at the right"
    last_balcony = phone.get_by_role("checkbox", name=re.compile(r"^Balcony J-25,"))
    seat_box = last_balcony.bounding_box()
    assert seat_box and seat_box["x"] + seat_box["width"] <= port["x"] + port["width"] + 1
    stage = phone.locator(".seatmap-decor .stage").bounding_box()
    seats = [
        phone.get_by_role("checkbox", name=re.compile(rf"^Parterre A-{n},")).bounding_box()
        for n in (1, 25)
    ]
    assert stage and seats[0] and seats[1]
    seats_centre = (seats[0]["x"] + seats[1]["x"] + seats[1]["width"]) / 2
    assert abs(stage["x"] + stage["width"] / 2 - seats_centre) < 3

    # Too small to tap in the overview: a tap zooms into that part of the hall instead.
    assert "overview" in (phone.locator("#seatmap-viewport").get_attribute("class") or "")
    assert_accessible(phone, "seat map overview, 360 px")
    phone.locator("#seatmap").tap(position={"x": hall["width"] * 0.5, "y": hall["height"] * 0.3})
    expect(phone.locator("#seatmap-viewport")).not_to_have_class(re.compile("overview"))
    box = phone.get_by_role("checkbox", name=re.compile(r"^Parterre H-13,")).bounding_box()
    assert box and box["width"] >= 24 and box["height"] >= 24
    assert_accessible(phone, "seat map zoomed in, 360 px")


def test_the_legend_uses_the_seats_own_colours(phone: Page, live_server: LiveServer) -> None:
    event, _ = seated_event(*HALL, title="Colour Test")
    phone.goto(f"/events/{event.pk}/seats/")

    def fill(locator: str) -> str:
        return phone.locator(locator).first.evaluate("el => getComputedStyle(el).fill")

    for zone, seat_label in (("z0", "Parterre A-1"), ("z1", "Balcony A-1")):
        legend = fill(f".seat-legend .seat.{zone} .dot")
        seat = phone.get_by_role("checkbox", name=re.compile(rf"^{seat_label},")).locator(".dot")
        assert legend == seat.evaluate("el => getComputedStyle(el).fill")


def test_a_keyboard_buyer_picks_two_seats_with_arrow_keys_in_few_presses(
    browser: Browser, live_server: LiveServer
) -> None:
    event, _ = seated_event(*HALL, title="Keyboard Night")
    buyer = UserFactory.create()
    context = phone_context(browser, live_server)
    log_in(context, live_server, buyer)
    page = context.new_page()
    errors = record_errors(page)
    page.goto(f"/events/{event.pk}/seats/")

    # Tab from the last control before the map: the map is one tab stop.
    page.get_by_role("button", name="Whole venue").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.startswith("Parterre A-1,")

    presses = ["ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "Space", "ArrowRight", "Space"]
    for key in presses:
        page.keyboard.press(key)
    assert len(presses) < 15
    expect(page.get_by_text("2 chosen: Parterre C-3, Parterre C-4")).to_be_visible()

    # One more Tab leaves the map: no walk through hundreds of seats to reach the button.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"  # the list alternative
    page.keyboard.press("Tab")
    expect(page.locator("#seat-voucher")).to_be_focused()  # an optional voucher code
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Hold the chosen seats")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Seats: Parterre C-3, Parterre C-4")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Pay")).click()
    expect(page.get_by_text("Parterre C-3").first).to_be_visible()
    labels = sorted(t.seat.label for t in Ticket.objects.filter(holder=buyer) if t.seat)
    assert labels == ["Parterre C-3", "Parterre C-4"]
    context.close()
    assert not errors, errors


def test_the_seat_map_passes_axe_on_a_wide_screen(
    browser: Browser, live_server: LiveServer
) -> None:
    event, _ = seated_event(*HALL, title="Wide Night")
    page = desktop_page(browser, live_server)
    page.goto(f"/events/{event.pk}/seats/")

    assert "overview" not in (page.locator("#seatmap-viewport").get_attribute("class") or "")
    box = page.get_by_role("checkbox", name=re.compile(r"^Parterre A-1,")).bounding_box()
    assert box and box["width"] >= 24
    assert_accessible(page, "seat map, 1280 px")
    page.context.close()
