"""An organizer at the attendee table and the live dashboard, on a phone and on a desktop."""

import csv
import io
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership
from analytics.summaries import summaries_rebuild
from events.models import Event, TicketTier
from tests.e2e.a11y import axe_violations
from tests.e2e.conftest import log_in, record_errors
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, UserFactory
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import Order, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES: dict[str, ViewportSize] = {
    "phone": {"width": 360, "height": 740},
    "desktop": {"width": 1280, "height": 900},
}


def _buy(event: Event, tier: TicketTier, name: str, quantity: int = 1) -> list[Ticket]:
    buyer = UserFactory.create(full_name=name)
    order = order_reserve(
        buyer=buyer,
        event_id=event.pk,
        items=[(tier.pk, quantity)],
        idempotency_key=uuid.uuid4().hex,
    )
    return order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex).tickets


@pytest.fixture(params=list(SIZES))
def organizer_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[tuple[Page, Event, TicketTier]]:
    organizer = MembershipFactory.create(role=Membership.Role.OWNER).user
    event = EventFactory.create(organization=organizer.organizations.get(), title="Harbour Jazz")
    tier = TicketTierFactory.create(event=event, name="Standing", price=Decimal("30.00"))
    context: BrowserContext = browser.new_context(
        base_url=live_server.url,
        viewport=SIZES[request.param],
        accept_downloads=True,
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
        # Not UTC, so that a page showing the browser's zone where it means UTC is caught.
        timezone_id="America/New_York",
    )
    context.set_default_timeout(10_000)
    log_in(context, live_server, organizer)
    page = context.new_page()
    errors = record_errors(page)
    yield page, event, tier
    context.close()
    assert not errors, f"Errors in the browser: {errors}"


def test_organizer_finds_a_misspelt_attendee_refunds_two_and_exports(
    organizer_page: tuple[Page, Event, TicketTier],
) -> None:
    page, event, tier = organizer_page
    _buy(event, tier, "Bartholomew Quigley")
    first = _buy(event, tier, "Rosalind Refund")[0]
    second = _buy(event, tier, "Ruben Refund")[0]
    kept = _buy(event, tier, "Clara Keeps")[0]

    page.goto(f"/manage/events/{event.pk}/attendees/")
    assert axe_violations(page) == []
    page.get_by_label("Name, email, order or ticket reference").fill("bartolomew quigly")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.attendee-table tbody tr")
    assert rows.count() == 1
    assert "Bartholomew Quigley" in rows.first.inner_text()

    page.get_by_label("Name, email, order or ticket reference").fill("refund")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Select Rosalind Refund").check()
    page.get_by_label("Select Ruben Refund").check()
    page.get_by_label("With").select_option("refund")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("Cancelled and refunded 2 tickets.").wait_for()
    assert axe_violations(page) == []
    statuses = dict(Ticket.objects.filter(event=event).values_list("pk", "status"))
    assert (statuses[first.pk], statuses[second.pk], statuses[kept.pk]) == ("void", "void", "valid")

    page.get_by_label("Name, email, order or ticket reference").fill("")
    page.get_by_role("button", name="Search").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    exported = {row["Name"]: row["Status"] for row in csv.DictReader(io.StringIO(text))}
    assert exported == {
        "Bartholomew Quigley": "valid",
        "Rosalind Refund": "refunded",
        "Ruben Refund": "refunded",
        "Clara Keeps": "valid",
    }


@pytest.mark.serial
def test_live_counter_shows_a_sale_from_another_session_within_two_seconds(
    organizer_page: tuple[Page, Event, TicketTier],
) -> None:
    page, event, tier = organizer_page
    _buy(event, tier, "Early Bird", quantity=2)
    page.goto(f"/manage/events/{event.pk}/dashboard")
    sold = page.locator('[data-live="sold"]')
    assert sold.inner_text() == "2"
    assert axe_violations(page) == []
    page.wait_for_timeout(1200)  # the page has polled at least once

    _buy(event, tier, "Late Buyer", quantity=3)  # another person, another session
    sold_at = time.monotonic()
    page.wait_for_function(
        "() => document.querySelector('[data-live=\"sold\"]').textContent === '5'", timeout=2000
    )
    assert time.monotonic() - sold_at < 2.0
    assert page.locator('[data-live="tiers.0.sold"]').inner_text() == "5"
    # The "as of" time reads as a clock time, not ISO 8601, and moves with the polls.
    stamp = page.locator('[data-live-time="at"]')
    first = stamp.get_attribute("datetime") or ""
    assert "T" in first
    page.wait_for_function(
        "(first) => document.querySelector('[data-live-time=\"at\"]')"
        ".getAttribute('datetime') !== first",
        arg=first,
        timeout=3000,
    )
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", stamp.inner_text()), stamp.inner_text()


def test_a_sales_chart_of_one_hour_centres_its_point_and_reads_in_utc(
    organizer_page: tuple[Page, Event, TicketTier],
) -> None:
    page, event, tier = organizer_page
    tickets = _buy(event, tier, "Early Bird", quantity=2)
    summaries_rebuild()
    page.goto(f"/manage/events/{event.pk}/dashboard")

    plot = page.locator(".chart-canvas .u-over").first
    box = plot.bounding_box()
    assert box is not None
    plot.hover(position={"x": box["width"] / 2, "y": box["height"] / 2})
    point = page.locator(".chart-canvas .u-cursor-pt").first.bounding_box()
    assert point is not None
    # uPlot alone would widen the one hour to 1,000 days and draw its point at the left edge.
    centre = point["x"] + point["width"] / 2 - box["x"]
    assert abs(centre - box["width"] / 2) < box["width"] / 10, (centre, box["width"])
    paid_at = Order.objects.get(pk=tickets[0].order_id).paid_at
    assert paid_at is not None
    sold_at = paid_at.astimezone(UTC)
    legend = page.locator(".chart-canvas .u-legend .u-series").first.locator(".u-value")
    # The hour in UTC on a 24-hour clock, like the table beside it (the day and month in the
    # order of the page's language).
    words = set(legend.inner_text().split())
    assert words == {str(sold_at.day), f"{sold_at:%b}", f"{sold_at:%H}:00"}, words


def test_the_chart_takes_the_place_of_the_sparkline_drawn_for_pages_without_javascript(
    organizer_page: tuple[Page, Event, TicketTier],
) -> None:
    page, event, tier = organizer_page
    earlier = _buy(event, tier, "Early Bird", quantity=1)[0].order_id
    _buy(event, tier, "Late Owl", quantity=1)
    Order.objects.filter(pk=earlier).update(paid_at=timezone.now() - timedelta(hours=3))
    summaries_rebuild()
    page.goto(f"/manage/events/{event.pk}/dashboard")

    page.locator(".chart-canvas .u-over").first.wait_for()
    sparkline = page.locator(".sparkline").first
    assert sparkline.count() == 1
    assert not sparkline.is_visible()
