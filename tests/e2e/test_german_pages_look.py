"""The organizer's, the door's and the sign-in pages in German, at 360 px and 1280 px: axe finds
nothing serious and no small tap target is crowded; and the scripts speak German too (the seat
map's live words, the scanner's verdict and the server's reason for it)."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import VIEWPORTS, log_in, viewport_page
from tests.factories import MembershipFactory, UserFactory, order_paid
from tests.ticketing.seated import seat, seated_event
from ticketing.models import SeatMap
from ticketing.seating.services import SeatBlock, order_reserve_seats

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=list(VIEWPORTS))
def german(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[Page]:
    """A browser that asks for German (Accept-Language), at the viewport's size."""
    yield from viewport_page(browser, live_server, request.param, locale="de-DE")


def test_organizer_door_and_sign_in_pages_in_german_pass_axe_and_target_size(
    german: Page, live_server: LiveServer
) -> None:
    event, _ = seated_event(
        SeatBlock(section="Parkett", rows=2, seats_per_row=6, zone="A"), title="Hafenlichter"
    )
    organization = event.organization
    owner = MembershipFactory.create(organization=organization, role=Membership.Role.OWNER).user
    buyer = UserFactory.create(first_name="Marlene", last_name="Dietrich")
    order = order_reserve_seats(
        buyer=buyer,
        event_id=event.pk,
        seat_ids=[seat(event, "Parkett A-1").pk],
        idempotency_key="a",
    )
    seat_map = SeatMap.objects.get(venue=event.venue)
    door = MembershipFactory.create(organization=event.organization, role=Membership.Role.DOOR).user

    german.goto("/accounts/login/")
    expect(german.locator("html")).to_have_attribute("lang", "de")
    expect(german.get_by_role("link", name="Passwort vergessen?")).to_be_visible()
    assert_accessible(german, f"sign-in in German at {german.viewport_size}")

    log_in(german.context, live_server, owner)
    manage = f"/manage/events/{event.pk}"
    for path, name in (
        ("/manage/", "organizer home"),
        (f"{manage}/dashboard", "event dashboard"),
        (f"{manage}/attendees/", "attendees"),
        (f"/manage/orders/{order.pk}/", "order"),
        (f"{manage}/questions/", "questions"),
        (f"{manage}/vouchers/", "vouchers"),
        (f"{manage}/checkin/", "check-in"),
        (f"{manage}/seating/", "seating"),
        (f"/manage/seat-maps/{seat_map.pk}/", "seat map editor"),
        (f"/manage/organizations/{event.organization_id}/invoicing/", "invoicing"),
    ):
        german.goto(path)
        expect(german.locator("html")).to_have_attribute("lang", "de")
        if path.endswith("/dashboard"):
            expect(
                german.get_by_role("navigation", name="Bereiche der Veranstaltung")
            ).to_be_visible()
        assert_accessible(german, f"{name} in German at {german.viewport_size}")

    german.context.clear_cookies()
    log_in(german.context, live_server, door)
    german.goto(f"/door/{event.pk}/?guest=dietrich")
    expect(german.get_by_role("heading", name="Gast suchen")).to_be_visible()
    assert_accessible(german, f"door in German at {german.viewport_size}")


def test_the_scripts_speak_german(german: Page, live_server: LiveServer) -> None:
    if german.viewport_size and german.viewport_size["width"] > 400:
        pytest.skip("the words are the same at every size")
    event, tiers = seated_event(
        SeatBlock(section="Balkon", rows=1, seats_per_row=6, zone="A"), title="Hafenlichter"
    )
    buyer = UserFactory.create()
    log_in(german.context, live_server, buyer)
    german.goto(f"/events/{event.pk}/seats/")
    german.get_by_role("checkbox", name=re.compile(r"^Balkon A-2,")).click()
    expect(german.get_by_text("1 gewählt: Balkon A-2")).to_be_visible()
    order_reserve_seats(
        buyer=UserFactory.create(),
        event_id=event.pk,
        seat_ids=[seat(event, "Balkon A-2").pk],
        idempotency_key="faster",
    )
    expect(german.get_by_role("alert")).to_contain_text(
        "Jemand hat gerade Balkon A-2 genommen", timeout=5_000
    )

    door = MembershipFactory.create(organization=event.organization, role=Membership.Role.DOOR).user
    order_paid(buyer=buyer, tier=tiers["A"])
    german.context.clear_cookies()
    log_in(german.context, live_server, door)
    german.goto(f"/door/{event.pk}/")
    german.get_by_label("Ticketcode").fill("not-a-ticket")
    german.get_by_role("button", name="Ticket prüfen").click()
    result = german.locator("#result")
    expect(result.locator(".verdict")).to_have_text("Ungültig")
    expect(result.locator(".detail")).to_contain_text("Dieser Code ist kein Boxoffice-Ticket.")
