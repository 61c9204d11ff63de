"""The pages in German: asked for by the browser (Accept-Language) or chosen with the switcher,
the public pages, the organizer's pages, the door's and the sign-in pages (allauth's own German)
show none of a list of English phrases a visitor would meet on them; the scripts' words come
from the German catalogue; money and dates are written the German way."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import User
from events.models import TicketTier
from tests.factories import EventFactory, TicketTierFactory, order_paid, order_reserved
from tests.ticketing.seated import seated_event
from ticketing.models import SeatMap
from ticketing.seating.services import SeatBlock

pytestmark = pytest.mark.django_db

# Phrases of the English pages that have no business on a German one. Matched as whole text
# between tags or in an attribute, so a German word that contains one does not count.
ENGLISH = [
    "Skip to content",
    "Search events",
    "Search events, artists, cities",
    "My tickets",
    "My agenda",
    "Log out",
    "Log in",
    "Sign up",
    "Find your next event",
    "Coming up",
    "All events →",
    "More filters",
    "Apply filters",
    "Sort by",
    "Price from",
    "Free only",
    "Any time",
    "Any category",
    "Organized by",
    "Add to calendar (.ics)",
    "Share",
    "Book",
    "Log in to book",
    "Quantity",
    "Sold out",
    "Join waitlist",
    "Ratings",
    "No ratings yet",
    "Choose your seats",
    "Choose your seats on the seat map",
    "Zoom in",
    "Whole venue",
    "Seats as a list",
    "Hold the chosen seats",
    "Best available",
    "Your choice",
    "Transfers sent and received",
    "Refund or send to someone",
    "Refund this ticket",
    "Send this ticket",
    "Join the waitlist",
    "Checkout",
    "Who is coming",
    "Your order",
    "Page not found",
]


# On the organizer's pages (dashboards, attendees and orders, bulk actions, questions, vouchers,
# invoicing, check-in, seating editor, webhooks, audit trail, tabs).
ORGANIZER_ENGLISH = [
    "Tickets sold",
    "Net revenue",
    "Check-in rate",
    "Bookings per hour",
    "Right now",
    "held, awaiting payment",
    "Sales over time",
    "By tier",
    "Waitlist funnel",
    "Overview",
    "Seating",
    "Sessions",
    "Search and filter attendees",
    "Export this view:",
    "Act on attendees",
    "Cancel and refund",
    "Check in by hand",
    "Send their tickets again",
    "Timeline",
    "Paid; tickets issued",
    "New event",
    "Filter your events",
    "Danger zone",
    "Save changes",
    "Time zone",
    "Ticket tiers",
    "Add a session",
    "Add a question",
    "New voucher code",
    "Discount given",
    "Rotate signing key",
    "Scanner links for volunteers",
    "Live attendance",
    "Scan log",
    "Offers outstanding",
    "Let people through",
    "Block and release seats",
    "Draw a block",
    "Pick seats",
    "Generate a block",
    "Save labels",
    "Import a layout",
    "Issue invoices for paid orders",
    "Add an endpoint",
    "Audit trail",
    "Your own two-factor authentication",
    "Upload the logo",
    "Attendees may ask for refunds",
    "Orders and refunds",
]
# At the door: the events to scan, the scanner and the guest lookup.
DOOR_ENGLISH = [
    "Scan tickets",
    "Scan with camera",
    "Stop camera",
    "Ticket code",
    "Check ticket",
    "Find a guest",
    "Last scans",
    "Next ticket",
    "Admit",
    "Name, email or order number",
]
# allauth's pages, in allauth's own German, framed by our layout.
SIGN_IN_ENGLISH = [
    "Sign In",
    "Forgot your password?",
    "Remember Me",
    "Password Reset",
    "Reset My Password",
    "Two-Factor Authentication",
    "Authenticator App",
    "Change Password",
    "Email Addresses",
]


def english_leftovers(html: str, phrases: list[str] = ENGLISH) -> list[str]:
    texts = {t.strip() for t in re.findall(r">([^<>]+)<", html)}
    texts |= set(re.findall(r'(?:aria-label|placeholder|title)="([^"]*)"', html))
    found = []
    for phrase in phrases:
        if phrase in texts or any(
            re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", t) for t in texts
        ):
            found.append(phrase)
    return found


@pytest.fixture
def pages(attendee: User, tier: TicketTier) -> list[str]:
    """The public pages a buyer walks, with something on each."""
    event = tier.event
    seated, _ = seated_event(SeatBlock(section="Stalls", rows=2, seats_per_row=4, zone="A"))
    sold_out = TicketTierFactory.create(event=EventFactory.create(title="Full House"), capacity=1)
    order_paid(buyer=attendee, tier=sold_out)
    held = order_reserved(buyer=attendee, tier=tier)
    return [
        "/",
        "/events/",
        "/events/?q=nothingmatchesthis",
        event.get_absolute_url(),
        sold_out.event.get_absolute_url(),
        seated.get_absolute_url(),
        f"/events/{seated.pk}/seats/",
        "/tickets/",
        f"/events/{sold_out.event_id}/waitlist",
        f"/orders/{held.pk}/",
        "/no-such-page/",
    ]


def test_public_pages_asked_for_in_german_have_no_english_leftovers(
    client: Client, attendee: User, pages: list[str]
) -> None:
    seen_in_english: set[str] = set()
    for logged_in in (False, True):
        if logged_in:
            client.force_login(attendee)
        for url in pages:
            response = client.get(url, headers={"accept-language": "de"}, follow=True)
            html = response.content.decode()
            assert 'lang="de"' in html, url
            leftovers = english_leftovers(html)
            assert not leftovers, f"{url} (logged in: {logged_in}) still says {leftovers}"
            english = client.get(url, headers={"accept-language": "en"}, follow=True)
            seen_in_english |= set(english_leftovers(english.content.decode()))
    # Every phrase on the list is on one of these pages in English: the list checks real text.
    assert set(ENGLISH) - seen_in_english == set()


def test_the_switcher_turns_cached_public_pages_german_and_back(
    client: Client, tier: TicketTier
) -> None:
    url = tier.event.get_absolute_url()
    english = client.get(url).content.decode()  # and into the page cache
    assert "Log in to book" in english
    client.post("/i18n/setlang/", {"language": "de", "next": url})
    german = client.get(url).content.decode()
    assert "Zum Buchen anmelden" in german and not english_leftovers(german)
    listing = client.get("/events/").content.decode()
    assert "Veranstaltungen" in listing and not english_leftovers(listing)
    client.post("/i18n/setlang/", {"language": "en", "next": url})
    assert "Log in to book" in client.get(url).content.decode()


def test_the_leftover_check_finds_english() -> None:
    assert english_leftovers('<button type="submit">Book</button>') == ["Book"]
    assert english_leftovers('<input placeholder="Search events">') == ["Search events"]
    assert english_leftovers("<p>Buchen</p><p>Ausverkauft</p>") == []


def walk_in_both_languages(client: Client, urls: list[str], phrases: list[str]) -> None:
    """Each page in German shows none of `phrases`; each phrase is on one of them in English."""
    seen_in_english: set[str] = set()
    for url in urls:
        response = client.get(url, headers={"accept-language": "de"}, follow=True)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'lang="de"' in html, url
        leftovers = english_leftovers(html, phrases)
        assert not leftovers, f"{url} still says {leftovers}"
        english = client.get(url, headers={"accept-language": "en"}, follow=True)
        seen_in_english |= set(english_leftovers(english.content.decode(), phrases))
    assert set(phrases) - seen_in_english == set()


@pytest.fixture
def organizer_pages(organizer: User, tier: TicketTier, attendee: User) -> list[str]:
    """Every organizer page of one event and its organization, with an order on them."""
    event = tier.event
    organization = organizer.organizations.get()
    paid = order_paid(buyer=attendee, tier=tier)
    block = SeatBlock(section="Stalls", rows=2, seats_per_row=4, zone="A")
    seated, _ = seated_event(block, organization=organization)
    seat_map = SeatMap.objects.get(venue=seated.venue)
    manage = f"/manage/events/{event.pk}"
    return [
        "/manage/",
        f"{manage}/dashboard",
        f"{manage}/attendees/",
        f"/manage/orders/{paid.order.pk}/",
        "/manage/events/",
        "/manage/events/new/",
        f"{manage}/",
        f"{manage}/sessions/",
        f"{manage}/feedback/",
        f"{manage}/questions/",
        f"{manage}/vouchers/",
        f"{manage}/checkin/",
        f"{manage}/attendance/",
        f"{manage}/waitlist",
        f"{manage}/waiting-room/",
        f"{manage}/reminders",
        f"{manage}/orders",
        f"{manage}/policy",
        f"/manage/events/{seated.pk}/seating/",
        "/manage/venues/",
        f"/manage/venues/{seated.venue_id}/seat-maps/",
        f"/manage/seat-maps/{seat_map.pk}/",
        f"/manage/organizations/{organization.pk}/invoicing/",
        "/manage/webhooks/",
        "/account/audit/",
        f"/account/organizations/{organization.pk}/security",
        f"/account/organizations/{organization.pk}/logo",
    ]


def test_organizer_pages_asked_for_in_german_have_no_english_leftovers(
    client: Client, organizer: User, organizer_pages: list[str]
) -> None:
    client.force_login(organizer)
    walk_in_both_languages(client, organizer_pages, ORGANIZER_ENGLISH)


def test_door_pages_asked_for_in_german_have_no_english_leftovers(
    client: Client, door_staff: User, tier: TicketTier, attendee: User
) -> None:
    order_paid(buyer=attendee, tier=tier)
    client.force_login(door_staff)
    scanner = f"/door/{tier.event_id}/"
    # The lookup finds the guest by name, so its "Admit" button is on the page.
    urls = ["/door/", scanner, f"{scanner}?guest={attendee.display_name[:4]}"]
    walk_in_both_languages(client, urls, DOOR_ENGLISH)


def test_sign_in_pages_are_allauths_german_in_our_frame(client: Client, organizer: User) -> None:
    urls = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
    walk_in_both_languages(client, urls, ["Sign In", "Forgot your password?", "Remember Me"])
    html = client.get("/accounts/login/", headers={"accept-language": "de"}).content.decode()
    assert "Anmelden" in html and "Passwort vergessen?" in html
    assert "Zum Inhalt springen" in html  # our base.html around allauth's form
    client.force_login(organizer)
    urls = ["/accounts/2fa/", "/accounts/password/change/", "/accounts/email/", *urls[2:]]
    walk_in_both_languages(client, urls, SIGN_IN_ENGLISH[3:])


# The first argument of each gettext("...") and ngettext("...", ...) in static/js.
SCRIPT_CALL = re.compile(r'\b(?:gettext|ngettext)\(\s*"([^"]*)"')


def test_every_word_the_scripts_show_has_german_in_the_script_catalogue(client: Client) -> None:
    german = client.get("/i18n/de.js")
    assert german.status_code == 200 and "javascript" in german["Content-Type"]
    found = re.search(r"const newcatalog = (\{.*?\});", german.content.decode(), re.S)
    assert found
    catalog = json.loads(found[1])
    used = set()
    for script in Path("static/js").glob("*.js"):
        used |= set(SCRIPT_CALL.findall(script.read_text()))
    assert len(used) > 40  # the scanner, seat map, editor, agenda, checkout, privacy, queue
    missing = sorted(text for text in used if not catalog.get(text))
    assert missing == []
    assert catalog["Someone just took %(seats)s. Your other seats are still selected."].startswith(
        "Jemand hat gerade"
    )
    assert catalog["This ticket was refunded."] == "Dieses Ticket wurde erstattet."
    english = client.get("/i18n/en.js").content.decode()
    assert "Jemand hat gerade" not in english
    assert client.get("/i18n/xx.js").status_code == 404


def test_pages_load_the_script_catalogue_of_their_language(
    client: Client, tier: TicketTier
) -> None:
    html = client.get(tier.event.get_absolute_url(), headers={"accept-language": "de"})
    assert '<script src="/i18n/de.js" defer></script>' in html.content.decode()
    html = client.get(tier.event.get_absolute_url(), headers={"accept-language": "en"})
    assert '<script src="/i18n/en.js" defer></script>' in html.content.decode()


def test_organizer_figures_money_and_dates_are_written_the_german_way(
    client: Client, organizer: User, tier: TicketTier, attendee: User
) -> None:
    tier.price = Decimal("1250.00")
    tier.save()
    paid = order_paid(buyer=attendee, tier=tier)
    client.force_login(organizer)
    order_page = f"/manage/orders/{paid.order.pk}/"
    german = client.get(order_page, headers={"accept-language": "de"}).content.decode()
    english = client.get(order_page, headers={"accept-language": "en"}).content.decode()
    assert "1.250,00\xa0€" in german and "1,250.00 EUR" in english
    assert "Bestellung aufgegeben (1.250,00\xa0€)" in german
    # The day's full stop and German month names: "4. Dez 2026" rather than "4 Dec 2026".
    paid.order.refresh_from_db()
    created = paid.order.created_at.astimezone(tier.event.tz)
    assert re.search(rf"\b{created.day}\. \w+\.? {created.year}", german)
    assert re.search(rf"\b{created.day} [A-Z][a-z]{{2}} {created.year}", english)
    vouchers = f"/manage/events/{tier.event_id}/vouchers/"
    german = client.get(vouchers, headers={"accept-language": "de"}).content.decode()
    assert "0,00\xa0€" in german


def test_seat_map_coordinates_stay_numbers_for_the_browser_in_german(client: Client) -> None:
    seated, _ = seated_event(SeatBlock(section="Stalls", rows=2, seats_per_row=4, zone="A"))
    html = client.get(f"/events/{seated.pk}/seats/", headers={"accept-language": "de"})
    svg = re.search(r'<svg id="seatmap".*?</svg>', html.content.decode(), re.S)
    assert svg
    numbers = re.findall(r'\b(?:viewBox|x|y|width|height|data-pitch)="([^"]*)"', svg[0])
    assert numbers and not [n for n in numbers if "," in n]  # "-15,0" is no SVG length
