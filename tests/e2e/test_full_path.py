"""A person's whole path on a phone: sign up, find, book, pay, show the QR, get scanned in."""

import io
import re
from pathlib import Path

import pytest
from django.core import mail
from PIL import Image
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership, User
from checkin.models import Admission, Scan
from checkin.signing import payload_verify
from core.qr import qr_png
from events.models import Event, TicketTier
from tests.e2e.conftest import PHONE, Launcher, log_in, phone_context, record_errors
from tests.factories import (
    PASSWORD,
    EventFactory,
    MembershipFactory,
    TicketTierFactory,
    VenueFactory,
    order_paid,
)
from tests.qr import qr_texts
from ticketing.models import Ticket

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path("/tmp")  # noqa: S108 - screenshots for a person to look at, not secrets
TITLE = "Moonlight Jazz Quartet"


def snapshot(page: Page, name: str) -> None:
    """Save a screenshot for a person to look at, and check the page fits the phone's width."""
    page.screenshot(path=SCREENSHOTS / f"e2e-{name}.png", full_page=True)
    # Measured against the phone's width: a mobile browser widens `innerWidth` to fit the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    overflow = width - PHONE["width"]
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the phone"


@pytest.fixture
def jazz_night() -> Event:
    """A published event worth finding, next to one the search must leave out."""
    organizer = MembershipFactory(role=Membership.Role.OWNER)
    organization = organizer.organization
    event = EventFactory(
        organization=organization,
        title=TITLE,
        slug="moonlight-jazz-quartet",
        venue=VenueFactory(organization=organization, name="Blue Note Cellar"),
    )
    TicketTierFactory(event=event, name="General admission")
    EventFactory(organization=organization, title="Python Workshop")
    return event


@pytest.fixture
def door_person(jazz_night: Event) -> User:
    return MembershipFactory(organization=jazz_night.organization, role=Membership.Role.DOOR).user


def test_sign_up_book_pay_and_get_scanned_in_on_a_phone(
    phone: Page, live_server: LiveServer, jazz_night: Event, door_person: User
) -> None:
    page = phone
    email = "ada.lovelace@example.com"

    # Sign up.
    page.goto("/accounts/signup/")
    snapshot(page, "signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-and-unusual-passphrase")
    page.get_by_label(re.compile(r"^Password \(again\):?$")).fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Sign Up", exact=True).click()
    expect(page.get_by_role("link", name="My tickets")).to_be_visible()
    buyer = User.objects.get(email=email)

    # Find the event with the search box in the header, open it.
    search = page.get_by_role("searchbox", name="Search events")
    search.fill("jazz")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/events/\?q=jazz"))
    expect(page.get_by_text("1 event", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Python Workshop")).to_have_count(0)
    snapshot(page, "search")
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)

    # Book two tickets.
    page.get_by_label("Quantity of General admission").fill("2")
    snapshot(page, "event")
    page.get_by_role("button", name="Book").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("50.00 EUR").last).to_be_visible()

    # Pay with the sandbox card.
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    snapshot(page, "order")
    page.get_by_role("button", name="Pay 50.00 EUR").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("status")).to_contain_text("Paid.")
    page.get_by_role("link", name="Show my tickets").click()
    expect(page).to_have_url(re.compile(r"/tickets/$"))
    snapshot(page, "tickets")

    # Each ticket's QR code, as the screen shows it, reads back as a genuine payload.
    cards = page.locator("article.ticket")
    expect(cards).to_have_count(2)
    payloads = []
    for card in cards.all():
        read = qr_texts(card.locator(".qr").screenshot())
        assert read == [card.locator("code.payload").text_content()]
        payloads.append(read[0])
    assert len(set(payloads)) == 2
    tickets = Ticket.objects.filter(order__buyer=buyer)
    assert sorted(payloads) == sorted(t.qr_payload for t in tickets)
    event_kids = set(jazz_night.signing_keys.values_list("kid", flat=True))
    for payload in payloads:
        claim = payload_verify(payload)
        assert claim.event_id == jazz_night.pk
        assert claim.kid in event_kids

    # The confirmation email went out (Celery runs inline here) with a QR link per ticket; the
    # images behind the links are decoded in tests/notifications/test_confirmation_email.py.
    confirmations = [m for m in mail.outbox if m.subject == f"Your tickets for {TITLE}"]
    assert len(confirmations) == 1
    assert confirmations[0].to == [email]
    assert confirmations[0].body.count("/notifications/ticket-qr/") == 2

    # The door: log out, log in as door staff, open the scanner, type the code.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    snapshot(page, "login")
    page.get_by_label("Email").fill(door_person.email)
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(
        page.get_by_role("list", name="Door").get_by_role("link", name="Check-in")
    ).to_be_visible()
    page.goto(f"/door/{jazz_night.pk}/")
    snapshot(page, "door")

    result = page.locator("#result")
    page.get_by_label("Ticket code").fill(payloads[0])
    page.get_by_role("button", name="Check ticket").click()
    expect(result.locator(".verdict")).to_have_text("Admitted")
    expect(result.locator(".detail")).to_contain_text(buyer.display_name)
    assert result.bounding_box() == {"x": 0, "y": 0, **PHONE}
    snapshot(page, "admitted")

    page.get_by_role("button", name="Next ticket").click()
    expect(result).to_be_hidden()
    page.get_by_label("Ticket code").fill(payloads[0])
    page.get_by_role("button", name="Check ticket").click()
    expect(result.locator(".verdict")).to_have_text("Already used")
    expect(result).to_have_class(re.compile(r"\bused\b"))
    snapshot(page, "already-used")

    assert Admission.objects.count() == 1
    assert Scan.objects.filter(result=Scan.Result.ADMITTED).count() == 1
    assert Scan.objects.filter(result=Scan.Result.ALREADY_USED).count() == 1
    assert Scan.objects.count() == 2


def write_y4m(path: Path, picture: Image.Image, *, frames: int = 1) -> None:
    """A minimal YUV4MPEG2 video showing `picture` (grey) for Chromium's fake camera."""
    width, height = 640, 480
    frame = Image.new("L", (width, height), 255)
    frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    chroma = bytes([128]) * (width // 2 * height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


def test_door_camera_reads_a_ticket_and_admits_it(
    launch_browser: Launcher,
    live_server: LiveServer,
    attendee: User,
    tier: TicketTier,
    door_staff: User,
    tmp_path: Path,
) -> None:
    (ticket,) = order_paid(buyer=attendee, tier=tier).tickets
    code = Image.open(io.BytesIO(qr_png(ticket.qr_payload))).convert("L")
    # Held up to the camera, the code fills most of the 480-line frame.
    write_y4m(tmp_path / "ticket.y4m", code.resize((440, 440), Image.Resampling.NEAREST))

    browser = launch_browser(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={tmp_path / 'ticket.y4m'}",
    )
    context = phone_context(browser, live_server)
    log_in(context, live_server, door_staff)
    page = context.new_page()
    errors = record_errors(page)

    page.goto(f"/door/{tier.event.pk}/")
    page.get_by_role("button", name="Scan with camera").click()
    expect(page.locator("#camera")).to_be_visible()
    verdict = page.locator("#result .verdict")
    expect(verdict).to_have_text("Admitted", timeout=30_000)
    expect(page.locator("#result .detail")).to_contain_text(ticket.attendee_name)
    snapshot(page, "camera-admitted")

    # The ticket stays in front of the camera while the verdict shows: no second scan.
    page.wait_for_timeout(4_000)
    expect(verdict).to_have_text("Admitted")
    assert Scan.objects.filter(ticket=ticket).count() == 1
    admission = Admission.objects.select_related("scan").get(ticket=ticket)
    assert admission.scan.device_id not in {"", "web-form"}

    # Next ticket: the same code, still held up, now reads as used.
    page.get_by_role("button", name="Next ticket").click()
    expect(verdict).to_have_text("Already used", timeout=15_000)
    assert Scan.objects.filter(ticket=ticket, result=Scan.Result.ALREADY_USED).count() == 1
    assert Admission.objects.count() == 1
    assert not errors, errors
