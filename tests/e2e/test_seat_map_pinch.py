"""Pinch on the seat map of a touch phone: two fingers apart zoom the hall (not the page) around
the point between them; two fingers together zoom back out to the whole hall."""

import re

import pytest
from playwright.sync_api import CDPSession, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.e2e.test_seat_map_look import HALL
from tests.ticketing.seated import seated_event

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STEPS = 12


def pinch(cdp: CDPSession, centre: tuple[float, float], start: float, end: float) -> None:
    """Two fingers, `start` px either side of `centre`, moved to `end` px, as the touch screen
    reports them (Chromium turns them into touch and pointer events)."""
    x, y = centre

    def fingers(spread: float) -> list[dict[str, float]]:
        return [{"x": x - spread, "y": y, "id": 0}, {"x": x + spread, "y": y, "id": 1}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(start)})
    for step in range(1, STEPS + 1):
        spread = start + (end - start) * step / STEPS
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(spread)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_two_fingers_zoom_the_hall_in_around_them_and_back_out(
    phone: Page, live_server: LiveServer
) -> None:
    event, _ = seated_event(*HALL, title="Pinch Test", prices={"A": "90.00", "B": "55.00"})
    phone.goto(f"/events/{event.pk}/seats/")
    viewport = phone.locator("#seatmap-viewport")
    expect(viewport).to_have_class(re.compile(r"\boverview\b"))
    port = viewport.bounding_box()
    hall = phone.locator("#seatmap").bounding_box()
    assert port and hall
    whole_width = hall["width"]

    # The seat nearest the point between the fingers, before the pinch.
    shown_height = min(port["height"], hall["height"])
    centre = (port["x"] + port["width"] * 0.3, port["y"] + shown_height * 0.4)
    seat = phone.evaluate(
        """([x, y]) => {
          let best = null, bestD = Infinity;
          for (const g of document.querySelectorAll('#seatmap g.seat')) {
            const r = g.getBoundingClientRect();
            const d = Math.hypot(r.x + r.width / 2 - x, r.y + r.height / 2 - y);
            if (d < bestD) { best = g.dataset.label; bestD = d; }
          }
          return best;
        }""",
        list(centre),
    )
    cdp = phone.context.new_cdp_session(phone)

    pinch(cdp, centre, start=30, end=120)  # fingers apart: four times the distance

    hall = phone.locator("#seatmap").bounding_box()
    assert hall and hall["width"] >= 2.5 * whole_width, (whole_width, hall)
    expect(viewport).not_to_have_class(re.compile(r"\boverview\b"))
    # The hall zoomed, not the page: the page keeps its scale and its phone width.
    assert phone.evaluate("window.visualViewport.scale") == 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    # What was between the fingers is still there, now big enough to tap.
    box = phone.locator(f'#seatmap g.seat[data-label="{seat}"]').bounding_box()
    assert box and box["width"] >= 24 and box["height"] >= 24
    assert abs(box["x"] + box["width"] / 2 - centre[0]) < 40, (box, centre)
    assert abs(box["y"] + box["height"] / 2 - centre[1]) < 40, (box, centre)

    # Fingers together, both on the map: back to the whole hall.
    middle = (port["x"] + port["width"] / 2, centre[1])
    pinch(cdp, middle, start=120, end=20)

    hall = phone.locator("#seatmap").bounding_box()
    assert hall and abs(hall["width"] - whole_width) <= 1
    expect(viewport).to_have_class(re.compile(r"\boverview\b"))
