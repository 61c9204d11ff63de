"""A buyer on a phone picks two seats, loses one to someone faster, picks another and pays."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.e2e.conftest import log_in
from tests.factories import UserFactory
from tests.ticketing.seated import seat, seated_event
from ticketing.models import Ticket
from ticketing.seating.services import SeatBlock, order_reserve_seats

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seat_button(page: Page, label: str) -> Locator:
    return page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(label)},"))


def test_a_lost_seat_is_named_live_and_the_other_one_stays_chosen(
    phone: Page, live_server: LiveServer
) -> None:
    event, _ = seated_event(
        SeatBlock(section="Balcony", rows=3, seats_per_row=8, zone="A"), title="Seated Gala"
    )
    buyer = UserFactory.create()
    log_in(phone.context, live_server, buyer)
    phone.goto(f"/events/{event.pk}/seats/")

    seat_button(phone, "Balcony C-4").click()
    seat_button(phone, "Balcony C-5").tap()  # a finger, as on a phone
    expect(seat_button(phone, "Balcony C-4")).to_have_attribute("aria-checked", "true")
    expect(phone.get_by_text("2 chosen: Balcony C-4, Balcony C-5")).to_be_visible()

    # Someone else is faster for C-5 while our buyer looks at the map.
    order_reserve_seats(
        buyer=UserFactory.create(),
        event_id=event.pk,
        seat_ids=[seat(event, "Balcony C-5").pk],
        idempotency_key="faster",
    )
    expect(phone.get_by_role("alert")).to_contain_text(
        "Someone just took Balcony C-5", timeout=3_000
    )  # the map's live update, within its 2-second promise
    expect(seat_button(phone, "Balcony C-5")).to_have_attribute("aria-disabled", "true")
    expect(seat_button(phone, "Balcony C-4")).to_have_attribute("aria-checked", "true")

    seat_button(phone, "Balcony C-6").focus()
    phone.keyboard.press("Space")  # keyboard-operable too
    phone.get_by_role("button", name="Hold the chosen seats").click()

    expect(phone.get_by_role("heading", name=re.compile("Checkout|Order"))).to_be_visible()
    expect(phone.get_by_text("Seats: Balcony C-4, Balcony C-6")).to_be_visible()
    phone.get_by_role("button", name=re.compile("^Pay")).click()

    expect(phone.get_by_text("Balcony C-4").first).to_be_visible()
    expect(phone.get_by_text("Balcony C-6").first).to_be_visible()
    labels = sorted(
        t.seat.label for t in Ticket.objects.filter(holder=buyer).select_related("seat") if t.seat
    )
    assert labels == ["Balcony C-4", "Balcony C-6"]
