"""Two buyers on phones race for the last ticket: the loser is told kindly, and can wait."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.e2e.conftest import log_in, phone_context, record_errors
from tests.factories import EventFactory, TicketTierFactory, UserFactory
from ticketing.models import Order
from waitlist.models import WaitlistEntry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_phones(browser: Browser, live_server: LiveServer) -> Iterator[tuple[Page, Page]]:
    contexts = [phone_context(browser, live_server) for _ in range(2)]
    pages = [context.new_page() for context in contexts]
    errors = [record_errors(page) for page in pages]
    for context in contexts:
        log_in(context, live_server, UserFactory.create())
    yield pages[0], pages[1]
    for context in contexts:
        context.close()
    assert not any(errors), errors


def test_the_buyer_who_loses_the_last_ticket_is_offered_the_waitlist(
    two_phones: tuple[Page, Page],
) -> None:
    winner, loser = two_phones
    event = EventFactory.create(title="Last Ticket Gig")
    TicketTierFactory.create(event=event, name="Standing", capacity=1)
    for page in (winner, loser):  # both see one ticket left
        page.goto(event.get_absolute_url())
        page.get_by_label("Quantity of Standing").fill("1")

    winner.get_by_role("button", name="Book").click()
    expect(winner.get_by_role("heading", name="Order")).to_be_visible()
    loser.get_by_role("button", name="Book").click()

    alert = loser.get_by_role("alert")
    expect(alert).to_contain_text("someone was faster")
    alert.get_by_role("link", name="Join the waitlist").click()
    loser.get_by_role("button", name="Join the waitlist").click()
    expect(loser.get_by_text("number 1")).to_be_visible()

    assert Order.objects.count() == 1
    assert WaitlistEntry.objects.filter(event=event).count() == 1
