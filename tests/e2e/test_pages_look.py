"""Every page this design system touches, at 360 px and 1280 px: axe finds nothing serious and
no small tap target is crowded; and the door admits a guest by name on a phone."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership, User
from analytics.summaries import summaries_rebuild
from checkin.models import Admission
from checkin.services import checkin_list_default
from events.models import Event
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import VIEWPORTS, log_in, viewport_page
from tests.factories import (
    EventFactory,
    MembershipFactory,
    TicketTierFactory,
    UserFactory,
    order_paid,
)
from ticketing.models import Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=list(VIEWPORTS))
def sized(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[Page]:
    yield from viewport_page(browser, live_server, request.param)


def organizer_with_event() -> tuple[User, Event]:
    owner = MembershipFactory.create(role=Membership.Role.OWNER).user
    event = EventFactory.create(organization=owner.organizations.get(), title="Harbour Lights")
    TicketTierFactory.create(event=event, name="Standing", capacity=300)
    TicketTierFactory.create(event=event, name="Balcony", price="45.00", capacity=3, sold_count=3)
    return owner, event


def test_public_pages_pass_axe_and_target_size(sized: Page, live_server: LiveServer) -> None:
    _, event = organizer_with_event()
    EventFactory.create(title="Sold Out Gig")
    for path, name in (
        ("/", "home"),
        ("/events/", "events list"),
        ("/events/?q=harbour", "search"),
        (event.get_absolute_url(), "event page"),
    ):
        sized.goto(path)
        assert_accessible(sized, f"{name} at {sized.viewport_size}")
    # The search shows four filters and keeps the rest folded away.
    sized.goto("/events/")
    for label in ("What", "When", "Where", "Category"):
        expect(sized.get_by_label(label, exact=True)).to_be_visible()
    expect(sized.get_by_label("Price from")).to_be_hidden()
    sized.get_by_text("More filters").click()
    expect(sized.get_by_label("Price from")).to_be_visible()


def test_organizer_pages_pass_axe_and_target_size(sized: Page, live_server: LiveServer) -> None:
    owner, event = organizer_with_event()
    organization = event.organization
    log_in(sized.context, live_server, owner)
    for path, name in (
        ("/manage/", "organizer events"),
        (f"/account/organizations/{organization.pk}/security", "organization security"),
        (f"/account/organizations/{organization.pk}/logo", "organization logo"),
        (f"/account/organizations/{organization.pk}/integrations", "integrations"),
        (f"/manage/events/{event.pk}/", "settings tab"),
        (f"/manage/events/{event.pk}/dashboard", "overview tab"),
        (f"/manage/events/{event.pk}/checkin/", "check-in tab"),
        (f"/manage/events/{event.pk}/attendance/", "attendees tab"),
        (f"/manage/events/{event.pk}/seating/", "seating tab"),
    ):
        sized.goto(path)
        if "/manage/events/" in path:
            expect(sized.get_by_role("navigation", name="Event sections")).to_be_visible()
        assert_accessible(sized, f"{name} at {sized.viewport_size}")

    # The cancel button stays disabled until the event's name is typed.
    sized.goto(f"/manage/events/{event.pk}/")
    cancel = sized.get_by_role("button", name=re.compile("^Cancel “Harbour Lights”"))
    expect(cancel).to_be_disabled()
    sized.get_by_label(re.compile("Type the event's name")).fill("Harbour Lights")
    expect(cancel).to_be_enabled()


def test_a_five_figure_revenue_stays_on_one_line_inside_its_card(
    sized: Page, live_server: LiveServer
) -> None:
    owner, event = organizer_with_event()
    patron = TicketTierFactory.create(event=event, name="Patron", price="12345.00", capacity=5)
    order_paid(buyer=UserFactory.create(), tier=patron)
    summaries_rebuild()
    log_in(sized.context, live_server, owner)
    sized.goto("/manage/")
    revenue = sized.locator(".kpis .stat-value.money").first
    expect(revenue).to_have_text("12,345.00 EUR")
    lines, fits = revenue.evaluate(
        """value => {
            const text = document.createRange();
            text.selectNodeContents(value);
            const card = value.closest(".stat").getBoundingClientRect();
            const box = text.getBoundingClientRect();
            return [text.getClientRects().length, box.left >= card.left && box.right <= card.right];
        }"""
    )
    assert (lines, fits) == (1, True), f"{lines} line(s), inside the card: {fits}"


def test_door_admits_a_guest_by_name_on_a_phone(sized: Page, live_server: LiveServer) -> None:
    if sized.viewport_size and sized.viewport_size["width"] > 400:
        pytest.skip("the door is a phone job")
    _, event = organizer_with_event()
    door = MembershipFactory.create(organization=event.organization, role=Membership.Role.DOOR).user
    tier = event.tiers.get(name="Standing")
    buyer = UserFactory.create(email="m.dietrich@example.com")
    ticket = order_paid(buyer=buyer, tier=tier).tickets[0]
    Ticket.objects.filter(pk=ticket.pk).update(attendee_name="Marlene Dietrich")
    gate = checkin_list_default(event)
    log_in(sized.context, live_server, door)

    sized.goto(f"/door/{event.pk}/")
    sized.get_by_label("Name, email or order number").fill("dietrich")
    sized.get_by_role("button", name="Find").click()
    assert_accessible(sized, "door page with a guest found, 360 px")
    sized.get_by_role("button", name="Admit Marlene Dietrich").click()

    expect(sized.get_by_text("Admitted: Marlene Dietrich · Standing.")).to_be_visible()
    expect(sized.get_by_text(re.compile("In since"))).to_be_visible()
    assert Admission.objects.filter(ticket=ticket, checkin_list=gate).count() == 1
