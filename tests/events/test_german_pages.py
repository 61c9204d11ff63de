"""The main public pages in German: asked for by the browser (Accept-Language) or chosen with
the switcher, they show none of a list of English phrases a visitor would meet on them."""

import re

import pytest
from django.test import Client

from accounts.models import User
from events.models import TicketTier
from tests.factories import EventFactory, TicketTierFactory, order_paid, order_reserved
from tests.ticketing.seated import seated_event
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


def english_leftovers(html: str) -> list[str]:
    texts = {t.strip() for t in re.findall(r">([^<>]+)<", html)}
    texts |= set(re.findall(r'(?:aria-label|placeholder|title)="([^"]*)"', html))
    found = []
    for phrase in ENGLISH:
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
