"""The door scanner without a network: it loads, decides in the browser, and syncs afterwards."""

import base64
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership
from checkin.models import Admission, Scan
from checkin.services import checkin_list_default, ticket_scan
from tests.e2e.conftest import log_in, phone_context, record_errors
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, order_paid

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Offline, a request the page or its service worker tries anyway fails with this, and a revoked
# link answers 410; that is the situation under test, not a fault.
OFFLINE_NOISE = ("ERR_INTERNET_DISCONNECTED", "Failed to fetch", "status of 410 (Gone)")


def forge(payload: str) -> str:
    """The same claims, signed by a key that is not the event's."""
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    header = raw[:57]
    return (
        base64.urlsafe_b64encode(header + Ed25519PrivateKey.generate().sign(header))
        .rstrip(b"=")
        .decode()
    )


@pytest.fixture
def door_phone(browser: Browser, live_server: LiveServer) -> Iterator[tuple[Page, BrowserContext]]:
    context = phone_context(browser, live_server)
    page = context.new_page()
    errors = record_errors(page)
    yield page, context
    context.close()
    real = [e for e in errors if not any(noise in e for noise in OFFLINE_NOISE)]
    assert not real, f"Errors in the browser: {real}"


def scan_typed(page: Page, payload: str) -> None:
    page.get_by_label("Ticket code").fill(payload)
    page.get_by_role("button", name="Check ticket").click()


def next_ticket(page: Page) -> None:
    page.get_by_role("button", name="Next ticket").click()
    expect(page.locator("#result")).to_be_hidden()


def test_offline_scanner_admits_once_rejects_forgeries_and_syncs_first_scan_wins(
    door_phone: tuple[Page, BrowserContext], live_server: LiveServer
) -> None:
    page, context = door_phone
    door = MembershipFactory.create(role=Membership.Role.DOOR)
    event = EventFactory.create(organization=door.organization, title="Field Day")
    tier = TicketTierFactory.create(event=event, name="Day pass")
    ana, bo = order_paid(buyer=door.user, tier=tier, quantity=2).tickets
    gate = checkin_list_default(event)
    log_in(context, live_server, door.user)

    page.goto(f"/door/{event.pk}/")
    expect(page.locator("#scanner[data-ready='1']")).to_be_attached()
    expect(page.locator("#expected")).to_have_text("2")

    # The venue Wi-Fi goes: the page reloads from the service worker's cache, with its bundle.
    context.set_offline(True)
    page.reload()
    expect(page.locator("#scanner[data-ready='1']")).to_be_attached()
    expect(page.locator("#connection")).to_contain_text("Offline")

    scan_typed(page, ana.qr_payload)
    expect(page.locator("#result .verdict")).to_have_text("Admitted")
    expect(page.locator("#result .reason")).to_contain_text("offline")
    next_ticket(page)

    scan_typed(page, ana.qr_payload)
    expect(page.locator("#result .verdict")).to_have_text("Already used")
    next_ticket(page)

    scan_typed(page, forge(ana.qr_payload))
    expect(page.locator("#result .verdict")).to_have_text("Invalid")
    expect(page.locator("#result .reason")).to_contain_text("invalid_signature")
    next_ticket(page)

    scan_typed(page, bo.qr_payload)
    expect(page.locator("#result .verdict")).to_have_text("Admitted")
    next_ticket(page)
    expect(page.locator("#queue-status")).to_contain_text("4 scans waiting to sync")
    expect(page.locator("#admitted")).to_have_text("2")
    assert Scan.objects.count() == 0  # nothing reached the server

    # Meanwhile a second gate, online, lets Bo in too: later than this phone did.
    other_gate = ticket_scan(
        payload=bo.qr_payload, checkin_list=gate, scanned_by=door.user, device_id="gate-2"
    )
    assert other_gate.valid

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#history")).to_contain_text(
        "Synced 4 offline scans, 1 conflict", timeout=15_000
    )
    expect(page.locator("#queue-status")).to_have_text("")
    expect(page.locator("#connection")).to_contain_text("Online")

    # One admission per ticket; every attempt logged once, in the order it happened at the door.
    assert Admission.objects.filter(ticket=ana).count() == 1
    assert Admission.objects.filter(ticket=bo).count() == 1
    offline = Scan.objects.filter(client_scan_id__isnull=False).order_by("scanned_at")
    assert [(s.result, s.reason, s.local_result) for s in offline] == [
        ("admitted", "ok", "admitted"),
        ("already_used", "already_used", "already_used"),
        ("rejected", "invalid_signature", "rejected"),
        ("admitted", "ok", "admitted"),
    ]
    # First scan wins by scanned_at: the phone's earlier offline scan of Bo holds the admission,
    # and the pair is flagged for the organizer.
    bo_offline = offline[3]
    admission = Admission.objects.get(ticket=bo)
    assert admission.scan_id == bo_offline.pk
    assert admission.admitted_at == bo_offline.scanned_at < timezone.now()
    assert bo_offline.conflict
    assert str(bo_offline.conflict_with_id) == other_gate.scan_id
    assert Scan.objects.filter(conflict=True).count() == 1

    # Sending the same queue again changes nothing (idempotent by client scan id).
    count = Scan.objects.count()
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(500)
    assert Scan.objects.count() == count


def test_volunteer_link_offline_on_a_reentry_list_applies_the_servers_rules(
    door_phone: tuple[Page, BrowserContext], live_server: LiveServer
) -> None:
    """No account: a device link. Offline, the browser refuses a tier the list does not admit
    and a refunded ticket, and lets a ticket out and back in; the sync agrees with it."""
    from checkin.models import CheckinList, DeviceLink
    from checkin.services import device_link_create, device_link_revoke
    from ticketing.models import Ticket

    page, context = door_phone
    owner = MembershipFactory.create(role=Membership.Role.OWNER)
    event = EventFactory.create(organization=owner.organization, title="Arena Night")
    day = TicketTierFactory.create(event=event, name="Day")
    vip = TicketTierFactory.create(event=event, name="VIP")
    guest, refunded = order_paid(buyer=owner.user, tier=day, quantity=2).tickets
    (lounge_guest,) = order_paid(buyer=owner.user, tier=vip).tickets
    Ticket.objects.filter(pk=refunded.pk).update(status="void", void_reason="refunded")
    arena = CheckinList.objects.create(event=event, name="Arena", allow_reentry=True)
    arena.tiers.add(day)
    link, token = device_link_create(checkin_list=arena, actor=owner.user, label="Sam")

    page.goto(f"/door/link/{token}/")
    expect(page.locator("#scanner[data-ready='1']")).to_be_attached()
    expect(page.locator("#expected")).to_have_text("1")
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")

    def verdict(payload: str, direction: str = "Entry") -> str:
        page.get_by_label(direction).check()
        scan_typed(page, payload)
        expect(page.locator("#result")).to_be_visible()
        text = page.locator("#result").inner_text()
        next_ticket(page)
        return text

    assert "Admitted" in verdict(guest.qr_payload)
    assert "Already inside" in verdict(guest.qr_payload)
    assert "Exit" in verdict(guest.qr_payload, "Exit")
    assert "not_inside" in verdict(guest.qr_payload, "Exit")
    assert "Admitted" in verdict(guest.qr_payload)
    assert "tier_not_allowed" in verdict(lounge_guest.qr_payload)
    assert "refunded" in verdict(refunded.qr_payload)
    assert Scan.objects.count() == 0

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#history")).to_contain_text("Synced 7 offline scans", timeout=15_000)
    synced = Scan.objects.order_by("scanned_at")
    assert [(s.result, s.reason) for s in synced] == [
        ("admitted", "ok"),
        ("already_used", "already_inside"),
        ("exited", "exit"),
        ("rejected", "not_inside"),
        ("admitted", "ok"),
        ("rejected", "tier_not_allowed"),
        ("rejected", "refunded"),
    ]
    assert {s.device_link_id for s in synced} == {link.pk}
    assert not any(s.conflict for s in synced)
    assert Admission.objects.get(ticket=guest).inside

    # The organizer revokes the link: the page says so at its next heartbeat.
    device_link_revoke(link=DeviceLink.objects.get(pk=link.pk), actor=owner.user)
    expect(page.locator("#connection")).to_contain_text("revoked", timeout=8_000)
