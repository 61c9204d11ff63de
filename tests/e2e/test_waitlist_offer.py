"""A sold-out event, a waitlist, a cancellation: the offer arrives by real SMTP and becomes a
ticket in the browser."""

import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.e2e.conftest import log_in, phone_context, record_errors
from tests.factories import EventFactory, TicketTierFactory, UserFactory, order_paid
from tests.notifications.conftest import Inbox, smtp_server
from ticketing.models import Ticket
from waitlist.models import Offer

__all__ = ["smtp_server"]  # fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def contexts(browser: Browser, live_server: LiveServer) -> Iterator[list[BrowserContext]]:
    made = [phone_context(browser, live_server) for _ in range(2)]
    yield made
    for context in made:
        context.close()


def test_waiting_buyer_gets_the_cancelled_ticket_through_the_emailed_offer(
    contexts: list[BrowserContext],
    live_server: LiveServer,
    smtp_server: tuple[Inbox, int],
    settings: object,
) -> None:
    inbox, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port  # type: ignore[attr-defined]
    event = EventFactory.create(title="Sold Out Quartet")
    tier = TicketTierFactory.create(event=event, name="Front Row", capacity=1)
    holder, waiter = UserFactory.create(), UserFactory.create()
    order_paid(buyer=holder, tier=tier)
    inbox.messages.clear()  # the holder's confirmation

    waiter_ctx, holder_ctx = contexts
    log_in(waiter_ctx, live_server, waiter)
    log_in(holder_ctx, live_server, holder)
    waiting: Page = waiter_ctx.new_page()
    cancelling: Page = holder_ctx.new_page()
    errors = record_errors(waiting) + record_errors(cancelling)

    # The event is sold out: the waiting buyer joins the line.
    waiting.goto(event.get_absolute_url())
    waiting.get_by_role("link", name="Join waitlist").click()
    waiting.get_by_label("Wait for").select_option(label="Front Row")
    waiting.get_by_role("button", name="Join the waitlist").click()
    expect(waiting.get_by_text("number 1")).to_be_visible()

    # The holder cancels: refunds the ticket on My tickets.
    cancelling.goto("/tickets/")
    cancelling.get_by_text("Refund or send to someone").click()
    cancelling.get_by_role("button", name="Refund this ticket").click()
    expect(cancelling.get_by_text("Refunded: 25.00 EUR")).to_be_visible()

    # The offer arrives over SMTP with a one-time link.
    deadline = time.monotonic() + 20
    while not any("is held for you" in m["Subject"] for m in inbox.messages):
        assert time.monotonic() < deadline, [m["Subject"] for m in inbox.messages]
        time.sleep(0.2)
    [offer_mail] = [m for m in inbox.messages if "is held for you" in m["Subject"]]
    assert offer_mail["To"] == waiter.email
    plain = offer_mail.get_body(preferencelist=("plain",))
    assert plain is not None
    body = plain.get_content()
    link = re.search(r"https?://\S+/waitlist/offers/\S+", body)
    assert link is not None, body
    waiting.goto(urlsplit(link.group(0)).path)

    waiting.get_by_role("button", name="Pay 25.00 EUR and get the ticket").click()
    expect(waiting.get_by_role("heading", name="My tickets")).to_be_visible()
    expect(waiting.get_by_text("Sold Out Quartet")).to_be_visible()
    expect(waiting.locator(".ticket:not(.void) .qr svg")).to_have_count(1)

    ticket = Ticket.objects.get(holder=waiter)
    assert ticket.status == Ticket.Status.VALID and ticket.tier == tier
    assert Offer.objects.get().status == Offer.Status.ACCEPTED
    # The link was one-time: opening it again only says it was taken.
    waiting.goto(urlsplit(link.group(0)).path)
    expect(waiting.get_by_text("You took this offer")).to_be_visible()
    assert not errors, errors
