"""A buyer on a 360-px phone finds an event by its card, books two named tickets with a voucher,
watches the hold's countdown, switches to German, pays, downloads the receipt PDF and reads the
confirmation mail (from a real SMTP server) in German. Checkout and order pages are checked
with axe-core and for crowded small tap targets at 360 and 1280 px."""

import io
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from pypdf import PdfReader
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership, User
from events.models import Event, TicketTier
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import log_in, phone_context, record_errors
from tests.factories import (
    EventFactory,
    MembershipFactory,
    TicketTierFactory,
    UserFactory,
    VenueFactory,
    order_reserved,
)
from tests.notifications.conftest import Inbox, smtp_server  # noqa: F401 - a fixture
from ticketing.models import Order
from vouchers.services import VoucherSpec, vouchers_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TITLE = "Harbour Lights Orchestra"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture
def concert() -> TicketTier:
    """A published event with a 20 % code, next to another event the buyer must not pick."""
    owner = MembershipFactory.create(role=Membership.Role.OWNER)
    organization = owner.organization
    event = EventFactory.create(
        organization=organization,
        title=TITLE,
        slug="harbour-lights-orchestra",
        venue=VenueFactory.create(organization=organization, name="Elbe Hall", city="Hamburg"),
    )
    tier = TicketTierFactory.create(event=event, name="Stalls", price=Decimal("30.00"))
    EventFactory.create(organization=organization, title="Organ Matinee")
    vouchers_create(
        actor=owner.user,
        event=event,
        spec=VoucherSpec(kind="percent", value=Decimal("20")),
        code="HARBOUR20",
    )
    return tier


def wait_for_mail(inbox: Inbox, address: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not inbox.to(address):
        assert time.monotonic() < deadline, [m["Subject"] for m in inbox.messages]
        time.sleep(0.2)
    [message] = inbox.to(address)
    return message


def test_buyer_books_two_named_tickets_with_a_voucher_and_gets_receipt_and_german_mail(
    browser: Browser,
    live_server: LiveServer,
    concert: TicketTier,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    settings: Any,
) -> None:
    inbox, port = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    buyer: User = UserFactory.create()
    event: Event = concert.event

    context = phone_context(browser, live_server)
    log_in(context, live_server, buyer)
    page = context.new_page()
    errors = record_errors(page)

    # Find: the event's card in the list, the whole card one link.
    page.goto("/events/")
    card = page.locator("article.event-card").filter(has_text=TITLE)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Elbe Hall, Hamburg")
    expect(card).to_contain_text("30.00 EUR")
    card.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)

    # Two tickets, booked: the checkout page holds them with a countdown.
    page.get_by_label("Quantity of Stalls").fill("2")
    page.get_by_role("button", name="Book").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
    order = Order.objects.get(buyer=buyer)
    countdown = page.locator(".hold-countdown")
    expect(countdown).to_be_visible()
    expect(countdown).to_have_text(re.compile(r"^(9|10):\d\d left$"))
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first or "", timeout=3_000)  # it runs
    assert_accessible(page, "checkout at 360 px")

    # The voucher: 20 % off both tickets, counted once.
    page.get_by_label("Voucher code").fill(" harbour20 ")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("Voucher applied.")
    expect(page.locator(".order-total")).to_have_text("48.00 EUR")
    expect(page.get_by_role("row", name=re.compile("Voucher HARBOUR20"))).to_contain_text(
        "12.00 EUR"
    )
    assert event.vouchers.get().used == 1

    # The buyer switches to German on the checkout page, and stays on it.
    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kasse")
    expect(countdown).to_have_text(re.compile(r"^Noch \d+:\d\d Minuten$"))
    assert_accessible(page, "checkout in German at 360 px")

    # Names per ticket, the sandbox card, pay.
    page.get_by_label("Ticket 1 · Stalls: Name der teilnehmenden Person").fill("Clara Schumann")
    page.get_by_label("Ticket 2 · Stalls: Name der teilnehmenden Person").fill("Johannes Brahms")
    page.get_by_label("Kartennummer").fill("4242 4242 4242 4242")
    page.get_by_role("button", name=re.compile(r"^48,00\s€ bezahlen$")).click()
    expect(page.get_by_role("status")).to_contain_text("Bezahlt.")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.total == Decimal("48.00")
    tickets = page.locator(".tickets-list li")
    expect(tickets).to_have_count(2)
    expect(tickets.filter(has_text="Clara Schumann")).to_have_count(1)
    expect(tickets.filter(has_text="Johannes Brahms")).to_have_count(1)
    assert_accessible(page, "paid order at 360 px")

    # The receipt: a PDF with the order's reference, downloaded as the link gives it.
    receipt = page.get_by_role("link", name="Quittung (PDF)")
    response = page.request.get(receipt.get_attribute("href") or "")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    content = response.body()
    assert content.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert order.code in text
    assert "Quittung" in text and "Clara Schumann" in text

    # The confirmation, as the mail server got it: German, with the reference and the receipt.
    mail = wait_for_mail(inbox, buyer.email)
    assert mail["Subject"] == f"Ihre Tickets für {TITLE}"
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    body = plain.get_content()
    assert "ist bestätigt" in body and order.code in body
    assert "Quittung (PDF)" in body and f"/orders/{order.pk}/receipt.pdf" in body
    context.close()
    assert not errors, errors

    # The same pages at desktop width: a fresh hold's checkout and the paid order.
    wide = browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    log_in(wide, live_server, buyer)
    desk = wide.new_page()
    errors = record_errors(desk)
    held = order_reserved(buyer=buyer, tier=concert, quantity=2)
    for url, where in (
        (f"/orders/{held.pk}/", "checkout at 1280 px"),
        (f"/orders/{order.pk}/", "paid order at 1280 px"),
    ):
        desk.goto(url)
        expect(desk.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(desk, where)
    wide.close()
    assert not errors, errors
