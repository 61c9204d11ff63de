"""A buyer on a phone waits in the room, watches their place fall, is let through and books."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import log_in
from tests.factories import EventFactory, TicketTierFactory, UserFactory
from tests.waitingroom.test_waiting_room import forget_rooms
from ticketing.models import Order
from waitingroom import queue, services
from waitingroom.models import WaitingRoom

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_buyer_waits_sees_the_position_fall_is_let_through_and_books(
    phone: Page, live_server: LiveServer
) -> None:
    event = EventFactory.create(title="Opening Bell Gig")
    TicketTierFactory.create(event=event, name="Standing", capacity=10)
    forget_rooms(event.pk)
    room = services.room_save(
        event=event,
        mode=WaitingRoom.Mode.ON,
        pace=WaitingRoom.Pace.FIXED,
        opens_at=timezone.now() - timedelta(seconds=1),
        admit_per_minute=60,  # one a second
    )
    services.room_publish(room)
    for n in range(8):  # eight people got there first
        queue.join(event_id=event.pk, visitor=f"s:ahead{n}", now=time.time() - 1)

    # The buyer arrives before signing in: their place belongs to this browser.
    phone.goto(f"{live_server.url}/queue/{event.pk}/")
    expect(phone.get_by_text("Your place in the queue")).to_be_visible()
    assert_accessible(phone, "the waiting page")
    position = phone.locator('[data-role="position"]')
    first = int(position.inner_text())
    assert first >= 2
    # The page updates itself: the number goes down without a reload.
    expect(position).not_to_have_text(str(first), timeout=15_000)
    assert int(position.inner_text()) < first

    book = phone.get_by_role("link", name="Choose your tickets")
    expect(book).to_be_visible(timeout=30_000)
    assert_accessible(phone, "the waiting page at the buyer's turn")
    # Signing in on the way to the booking form keeps the pass this browser won.
    buyer = UserFactory.create()
    log_in(phone.context, live_server, buyer)
    book.click()
    phone.get_by_label("Quantity of Standing").fill("1")
    phone.get_by_role("button", name="Book").click()
    expect(phone.get_by_role("heading", name=re.compile("Checkout|Order"))).to_be_visible()
    assert Order.objects.filter(buyer=buyer, event=event).count() == 1
    queue.clear(event_id=event.pk)


def test_without_a_pass_the_booking_form_sends_the_buyer_to_the_queue(
    phone: Page, live_server: LiveServer
) -> None:
    event = EventFactory.create(title="Queue First Gig")
    TicketTierFactory.create(event=event, name="Standing", capacity=10)
    forget_rooms(event.pk)
    room = services.room_save(
        event=event,
        mode=WaitingRoom.Mode.ON,
        pace=WaitingRoom.Pace.FIXED,
        opens_at=timezone.now() + timedelta(hours=1),
        admit_per_minute=30,
    )
    services.room_publish(room)
    log_in(phone.context, live_server, UserFactory.create())
    phone.goto(live_server.url + event.get_absolute_url())
    phone.get_by_label("Quantity of Standing").fill("1")
    phone.get_by_role("button", name="Book").click()
    expect(phone.get_by_text("gets a place drawn at random")).to_be_visible()
    assert not Order.objects.filter(event=event).exists()
    queue.clear(event_id=event.pk)
