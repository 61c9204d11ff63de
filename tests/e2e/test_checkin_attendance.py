"""The organizer watches the doors: a scan shows on the live attendance page within 2 seconds."""

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership
from checkin.services import checkin_list_default, ticket_scan
from tests.e2e.conftest import log_in
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, order_paid

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_live_attendance_shows_a_scan_within_two_seconds_without_reload(
    phone: Page, live_server: LiveServer
) -> None:
    owner = MembershipFactory.create(role=Membership.Role.OWNER)
    event = EventFactory.create(organization=owner.organization, title="Open Air")
    tier = TicketTierFactory.create(event=event, name="Day")
    first, second = order_paid(buyer=owner.user, tier=tier, quantity=2).tickets
    gate = checkin_list_default(event)
    log_in(phone.context, live_server, owner.user)
    phone.goto(f"/manage/events/{event.pk}/attendance/")
    figures = phone.get_by_role("region", name="Main entrance")
    expect(figures.locator(".big .admitted")).to_have_text("0")
    expect(figures.locator(".big .expected")).to_have_text("2")
    phone.evaluate("window.stillHere = true")  # gone if the page reloads
    # A poll has redrawn the empty log: it still says so.
    expect(phone.locator("#live-status")).to_contain_text("Updated")
    expect(phone.locator("#scan-rows")).to_have_text("No scans yet.")

    ticket_scan(payload=first.qr_payload, checkin_list=gate, scanned_by=owner.user)
    expect(figures.locator(".big .admitted")).to_have_text("1", timeout=2000)
    expect(figures.locator("[data-tier-id] .admitted")).to_have_text("1")
    ticket_scan(payload=first.qr_payload, checkin_list=gate, scanned_by=owner.user)
    expect(phone.locator("#scan-rows tr").first).to_contain_text("already_used", timeout=2000)
    assert phone.evaluate("window.stillHere === true")  # updated in place, not reloaded

    phone.get_by_role("link", name="Rejects").click()
    expect(phone.locator("#scan-rows tr")).to_have_count(1)
    ticket_scan(payload=second.qr_payload, checkin_list=gate, scanned_by=owner.user)
    expect(figures.locator(".big .admitted")).to_have_text("2", timeout=2000)
    expect(phone.locator("#scan-rows tr")).to_have_count(1)  # an admission is not a reject
