"""The event page: sanitised Markdown, venue and map, JSON-LD, .ics, share link; and its cache."""

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from icalendar import Calendar

from accounts.models import User
from events import agenda, services
from events.models import Event, TicketTier
from tests.events.helpers import make_event
from tests.events.test_query_counts import assert_constant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def json_ld(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert found, "no JSON-LD"
    return json.loads(found.group(1))


def test_markdown_description_is_rendered_and_sanitised(client: Client) -> None:
    event = make_event(
        "Markdown night",
        description="## Line-up\n\n**Bold** and [a link](https://example.org)\n\n"
        "<script>alert(1)</script> [bad](javascript:alert(2)) <img src=x onerror=alert(3)>",
    )

    html = client.get(event.get_absolute_url()).content.decode()
    start = html.index('<div class="description">')
    body = html[start : html.index("</div>", start)]

    assert "<h2>Line-up</h2>" in body and "<strong>Bold</strong>" in body
    assert 'href="https://example.org"' in body and 'rel="nofollow noopener noreferrer"' in body
    assert "<script" not in body and 'href="javascript:' not in body and "<img" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # shown as text, harmless


def test_page_has_venue_address_map_organizer_share_link_and_calendar(client: Client) -> None:
    event = make_event("Mapped", venue="Kesselhaus", latitude=52.5387, longitude=13.4128)

    html = client.get(event.get_absolute_url()).content.decode()

    assert "Kesselhaus" in html and "1 Main Street" in html and "Berlin" in html
    assert "https://www.openstreetmap.org/?mlat=52.5387&amp;mlon=13.4128" in html
    assert event.organization.name in html
    assert f"http://127.0.0.1:8000/events/{event.pk}/{event.slug}/" in html  # share link
    assert f"/events/{event.pk}/calendar.ics" in html


def test_json_ld_describes_the_event_and_cannot_break_out_of_its_script(client: Client) -> None:
    event = make_event("</script><script>alert(1)</script>", performers="Nina Simonetti", price=0)
    Event.objects.filter(pk=event.pk).update(rating_count=2, rating_sum=9)

    html = client.get(event.get_absolute_url()).content.decode()
    data = json_ld(html)

    assert "</script><script>alert(1)" not in html
    assert data["@type"] == "Event" and data["name"] == event.title
    assert data["location"]["address"]["addressLocality"] == "Berlin"
    assert data["offers"][0]["price"] == "0.00"
    assert data["offers"][0]["availability"] == "https://schema.org/InStock"
    assert data["performer"] == [{"@type": "Person", "name": "Nina Simonetti"}]
    assert data["aggregateRating"]["ratingValue"] == 4.5
    assert data["startDate"].endswith("+01:00") or data["startDate"].endswith("+02:00")


def test_ics_download_is_a_valid_calendar_entry(client: Client) -> None:
    event = make_event("Calendar gig")

    response = client.get(f"/events/{event.pk}/calendar.ics")
    entry = next(iter(Calendar.from_ical(response.content).walk("VEVENT")))

    assert response["Content-Disposition"].startswith("attachment;")
    assert str(entry["summary"]) == "Calendar gig"
    assert entry.decoded("dtstart") == event.starts_at.replace(microsecond=0)
    assert "Main Hall" in str(entry["location"])


def test_event_page_with_agenda_and_ratings_is_a_constant_number_of_queries(
    client: Client, organizer: User, django_assert_max_num_queries: Any
) -> None:
    event = make_event("Big conf", organization=organizer.organizations.get(), hours=20)
    fan = UserFactory.create()
    client.force_login(fan)
    counter = iter(range(100))

    def add(n: int) -> None:
        for _ in range(n):
            i = next(counter)
            start = event.starts_at + timedelta(minutes=30 * i)
            saved = agenda.session_save(
                actor=organizer,
                event=event,
                title=f"Talk {i}",
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                room_name=f"Room {i % 3}",
                track_name=f"Track {i % 2}",
                speaker_names=[f"Speaker {i}", f"Speaker {i + 1}"],
            )
            agenda.session_star(user=fan, session_id=saved.session.pk)

    assert_constant(
        client,
        event.get_absolute_url(),
        add,
        django_assert_max_num_queries,
        lambda r: len(r.context["sessions"]),
    )


def test_search_results_page_is_a_constant_number_of_queries(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    counter = iter(range(100))

    def add(n: int) -> None:
        for _ in range(n):
            i = next(counter)
            make_event(f"Jazz evening {i}", category=f"Cat {i}", city=f"City {i}")

    assert_constant(
        client,
        "/events/?q=jazz&when=month&sort=rating",
        add,
        django_assert_max_num_queries,
        lambda r: len(r.context["result"].events),
    )


# --- Caching ---------------------------------------------------------------------------------


def queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.mark.page_cache
def test_anonymous_event_page_comes_from_the_cache_until_the_organizer_edits(
    client: Client, organizer: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EVENTS_PAGE_CACHE_SECONDS = settings.EVENTS_AVAILABILITY_SECONDS = 60
    event = make_event("Cached title", organization=organizer.organizations.get())
    url = event.get_absolute_url()

    first, _ = queries(client, url)
    second, html = queries(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        services.event_update(actor=organizer, event=event, title="Edited title")
    event.refresh_from_db()
    after_edit, edited = queries(client, event.get_absolute_url())

    assert first > 0 and second == 0 and "Cached title" in html
    assert after_edit > 0 and "Edited title" in edited


@pytest.mark.page_cache
def test_availability_is_never_staler_than_the_cache_ttl(client: Client, settings: Any) -> None:
    settings.EVENTS_PAGE_CACHE_SECONDS = 600
    settings.EVENTS_AVAILABILITY_SECONDS = 1
    event = make_event("Selling", capacity=100)
    url = event.get_absolute_url()
    tier_cell = re.compile(r'data-tier-left="[^"]+">(\d+)<')

    before = tier_cell.findall(client.get(url).content.decode())
    TicketTier.objects.filter(event=event).update(sold_count=F("sold_count") + 7)  # a sale
    cached = tier_cell.findall(client.get(url).content.decode())
    time.sleep(1.2)
    fresh = tier_cell.findall(client.get(url).content.decode())

    assert before == cached == ["100"] and fresh == ["93"]


@pytest.mark.page_cache
def test_signed_in_visitors_and_listings_after_publishing_are_never_stale(
    client: Client, organizer: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EVENTS_PAGE_CACHE_SECONDS = settings.EVENTS_LISTING_CACHE_SECONDS = 60
    make_event("Already on")
    assert "Already on" in client.get("/events/").content.decode()
    draft = make_event(
        "Brand new", organization=organizer.organizations.get(), status=Event.Status.DRAFT
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.event_publish(actor=organizer, event=draft)

    listing = client.get("/events/").content.decode()
    client.force_login(organizer)
    count, _ = queries(client, draft.get_absolute_url())

    assert "Brand new" in listing
    assert count > 0  # a signed-in page is rendered for that person, never from the cache


def test_timetable_my_agenda_and_api_search_are_constant_numbers_of_queries(
    client: Client, organizer: User, django_assert_max_num_queries: Any
) -> None:
    event = make_event("Query conf", organization=organizer.organizations.get(), hours=20)
    fan = UserFactory.create()
    client.force_login(fan)
    counter = iter(range(100))

    def add(n: int) -> None:
        for _ in range(n):
            i = next(counter)
            start = event.starts_at + timedelta(minutes=30 * i)
            saved = agenda.session_save(
                actor=organizer,
                event=event,
                title=f"Talk {i}",
                starts_at=start,
                ends_at=start + timedelta(minutes=30),
                room_name=f"Room {i % 3}",
                speaker_names=[f"Speaker {i}"],
            )
            agenda.session_star(user=fan, session_id=saved.session.pk)
            make_event(f"Jazz {i}", city=f"Town {i}")

    add(3)
    baselines = {}
    urls = {
        "timetable": f"/events/{event.pk}/timetable/",
        "agenda": "/agenda/",
        "api": "/api/v1/search?query=jazz&when=month",
    }
    for name, url in urls.items():
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        baselines[name] = len(captured)
    add(12)
    for name, url in urls.items():
        client.get(url)
        with django_assert_max_num_queries(baselines[name]):
            client.get(url)
    assert len(client.get("/api/v1/search?query=jazz&per_page=50").json()["items"]) == 15
