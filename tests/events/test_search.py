"""Full-text search, typo tolerance, filters, facets, sorting and pages (selector, page, API)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from events.models import Event, OrganizerRating, TicketTier
from events.search import _weekend
from tests.events.helpers import make_event, search, titles

pytestmark = pytest.mark.django_db


def test_misspelled_query_still_finds_jazz_festival() -> None:
    make_event("Jazz Festival", city="Hamburg")
    make_event("Rock Night", city="Hamburg")
    make_event("Chamber Music Matinee", city="Bonn")

    assert titles(query="jaz festivl") == ["Jazz Festival"]
    assert titles(query="Jazz Festival") == ["Jazz Festival"]
    assert search(query="jaz festivl").corrected == "jaz festival"


@pytest.mark.parametrize(
    ("query", "found"),
    [("tecno", "Techno Rave"), ("pyhton", "Python Summit"), ("photografy", "Photography Walk")],
)
def test_common_typos_are_corrected_to_known_words(query: str, found: str) -> None:
    for title in ("Techno Rave", "Python Summit", "Photography Walk", "Pottery Class"):
        make_event(title)

    assert titles(query=query) == [found]


def test_search_covers_title_description_venue_city_performers_speakers_and_category() -> None:
    make_event("Evening one", description="Saxophone quartets all night")
    make_event("Evening two", venue="Kesselhaus")
    make_event("Evening three", city="Leipzig")
    make_event("Evening four", performers="Nina Simonetti, The Wanderers")
    make_event("Evening five", category="Stand-up Comedy")

    assert titles(query="saxophone") == ["Evening one"]
    assert titles(query="kesselhaus") == ["Evening two"]
    assert titles(query="leipzig") == ["Evening three"]
    assert titles(query="wanderers") == ["Evening four"]
    assert titles(query="comedy") == ["Evening five"]


def test_speakers_of_sessions_are_searchable(organizer) -> None:
    from events.agenda import session_save

    event = make_event("DevConf", organization=organizer.organizations.get())
    session_save(
        actor=organizer,
        event=event,
        title="Keynote",
        starts_at=event.starts_at,
        ends_at=event.starts_at + timedelta(hours=1),
        room_name="Hall A",
        speaker_names=["Grace Hopperton"],
    )

    assert titles(query="hopperton") == ["DevConf"]


def test_title_matches_rank_above_description_matches() -> None:
    make_event("Evening of song", description="With a little violin at the end.")
    make_event("Violin Recital", description="Bach and Ysaÿe.")

    assert titles(query="violin")[0] == "Violin Recital"
    assert search(query="violin").sort == "relevance"


@pytest.mark.parametrize("query", ["", "   ", "!!!", "the", "***", "\x00", "a" * 500, "'\"<>&"])
def test_empty_and_punctuation_queries_list_events_by_date(query: str) -> None:
    late = make_event("Later", starts_at=timezone.now() + timedelta(days=9))
    early = make_event("Sooner", starts_at=timezone.now() + timedelta(days=2))

    result = search(query=query)

    if query.strip() in ("", "!!!", "***", "\x00"):
        assert [e.title for e in result.events] == [early.title, late.title]
        assert result.sort == "date"
    else:  # words that mean nothing here: an empty answer, never an error
        assert result.count in (0, 2)


def test_nonsense_query_gives_an_empty_page_with_a_hint(client: Client) -> None:
    make_event("Jazz Festival")

    response = client.get("/events/", {"q": "xqzvkjw plmfrt"})

    assert response.status_code == 200
    assert response.context["result"].count == 0
    assert "Check the spelling" in response.content.decode()


def test_filters_category_city_price_free_and_availability() -> None:
    make_event("Paid rock", category="Rock", city="Köln", price=Decimal("40"))
    make_event("Free jazz", category="Jazz", city="Köln", price=0)
    sold_out = make_event("Gone jazz", category="Jazz", city="Bonn", price=Decimal("15"))
    TicketTier.objects.filter(event=sold_out).update(sold_count=F("capacity"))

    assert titles(category="jazz") == ["Free jazz", "Gone jazz"]
    assert titles(city="köln") == ["Paid rock", "Free jazz"]
    assert titles(free_only=True) == ["Free jazz"]
    assert titles(price_min=Decimal("10"), price_max=Decimal("20")) == ["Gone jazz"]
    assert titles(price_min=Decimal("30")) == ["Paid rock"]
    assert titles(available_only=True) == ["Paid rock", "Free jazz"]
    assert titles(category="jazz", available_only=True) == ["Free jazz"]


def test_near_me_keeps_events_within_the_radius_nearest_first() -> None:
    make_event("Brandenburg Gate gig", latitude=52.5163, longitude=13.3777)
    make_event("Potsdam gig", latitude=52.3906, longitude=13.0645)  # ~25 km
    make_event("Munich gig", latitude=48.1374, longitude=11.5755)
    make_event("Somewhere gig")  # no coordinates: never "near"

    near = titles(latitude=52.52, longitude=13.40, radius_km=10)
    wider = search(latitude=52.52, longitude=13.40, radius_km=40, sort="distance", per_page=10)

    assert near == ["Brandenburg Gate gig"]
    assert [e.title for e in wider.events] == ["Brandenburg Gate gig", "Potsdam gig"]
    distances: list[float] = [getattr(e, "distance_km", 0.0) for e in wider.events]
    assert distances[0] < 2 < 20 < distances[1] < 30


def test_this_weekend_respects_each_events_time_zone() -> None:
    today = timezone.localdate() + timedelta(days=21)
    saturday, monday = _weekend(today)
    assert saturday.weekday() == 5 and monday.weekday() == 0 and saturday > today - timedelta(7)

    def at(day: date, hour: int, minute: int, zone: str) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))

    friday, sunday = saturday - timedelta(days=1), saturday + timedelta(days=1)
    # Saturday 00:30 in Tokyo is Friday 15:30 in UTC: still this weekend, for Tokyo.
    make_event("Tokyo Saturday", starts_at=at(saturday, 0, 30, "Asia/Tokyo"), hours=2,
               time_zone="Asia/Tokyo")  # fmt: skip
    # Sunday 23:30 in Los Angeles is Monday 07:30 in UTC: still this weekend, for LA.
    make_event("LA Sunday night", starts_at=at(sunday, 23, 30, "America/Los_Angeles"), hours=0.4,
               time_zone="America/Los_Angeles")  # fmt: skip
    # Monday 00:30 in Tokyo is Sunday 15:30 in UTC: not this weekend for anyone in Tokyo.
    make_event("Tokyo Monday", starts_at=at(monday, 0, 30, "Asia/Tokyo"), hours=2,
               time_zone="Asia/Tokyo")  # fmt: skip
    # Friday 23:00 in Berlin is Friday 22:00 UTC: the weekend has not begun in Berlin.
    make_event("Berlin Friday", starts_at=at(friday, 23, 0, "Europe/Berlin"), hours=0.5)

    assert sorted(titles(when="weekend", today=today)) == ["LA Sunday night", "Tokyo Saturday"]


def test_date_range_is_read_in_the_events_own_time_zone() -> None:
    day = timezone.localdate() + timedelta(days=30)
    starts = datetime(day.year, day.month, day.day, 1, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    make_event("Early in Tokyo", starts_at=starts, time_zone="Asia/Tokyo", hours=1)

    # In UTC it starts the day before; on the event's own calendar it is `day`.
    assert titles(start_date=day, end_date=day) == ["Early in Tokyo"]
    assert titles(start_date=day - timedelta(1), end_date=day - timedelta(1)) == []


def test_sort_by_rating_uses_the_event_then_the_organizer_rating() -> None:
    good = make_event("Good organizer's next show")
    OrganizerRating.objects.create(organization=good.organization, rating_count=10, rating_sum=48)
    make_event("Unknown organizer")
    rated = make_event("Rated itself")
    Event.objects.filter(pk=rated.pk).update(rating_count=2, rating_sum=7)  # 3.5
    poor = make_event("Poor organizer")
    OrganizerRating.objects.create(organization=poor.organization, rating_count=4, rating_sum=8)

    assert titles(sort="rating") == [
        "Good organizer's next show",
        "Rated itself",
        "Poor organizer",
        "Unknown organizer",
    ]


def test_pages_are_stable_and_complete_even_with_equal_sort_keys() -> None:
    same_time = timezone.now() + timedelta(days=3)
    for n in range(25):
        make_event(f"Twin {n}", starts_at=same_time, description="identical jazz night")

    seen: list[str] = []
    for page in (1, 2, 3):
        result = search(query="jazz", page=page, per_page=10)
        seen += [str(e.pk) for e in result.events]
    again = [str(e.pk) for p in (1, 2, 3) for e in search(query="jazz", page=p, per_page=10).events]

    assert len(seen) == len(set(seen)) == 25
    assert seen == again
    assert search(query="jazz", page=99, per_page=10).page == 3  # past the end: the last page


def test_facets_count_categories_and_cities_of_the_matching_events() -> None:
    make_event("A", category="Jazz", city="Bonn")
    make_event("B", category="Jazz", city="Köln")
    make_event("C", category="Rock", city="Köln")
    make_event("D jazz", category="Folk", city="Bonn", description="Jazz-folk")

    everything = search()
    jazz_only = search(category="jazz")

    assert {(f.value, f.count) for f in everything.categories} == {
        ("jazz", 2),
        ("rock", 1),
        ("folk", 1),
    }
    assert [(f.value, f.count) for f in everything.cities] == [("Bonn", 2), ("Köln", 2)]
    assert [(f.value, f.count) for f in jazz_only.cities] == [("Bonn", 1), ("Köln", 1)]


def test_results_page_highlights_matches_and_escapes_the_rest(client: Client) -> None:
    make_event("<b>Jazz</b> & Blues", description="Late-night jazz <script>alert(1)</script>")

    response = client.get("/events/", {"q": "jazz"})
    html = response.content.decode()

    assert "<mark>Jazz</mark>" in html
    assert "&lt;b&gt;" in html and "<script>alert(1)" not in html


def test_drafts_cancelled_and_past_events_are_never_found() -> None:
    make_event("Jazz draft", status=Event.Status.DRAFT)
    make_event("Jazz cancelled", status=Event.Status.CANCELLED)
    make_event("Jazz past", starts_at=timezone.now() - timedelta(days=3))
    make_event("Jazz live")

    assert titles(query="jazz") == ["Jazz live"]


# --- API ----------------------------------------------------------------------------------------


def test_api_search_finds_misspelled_words_with_facets_and_pages(client: Client) -> None:
    make_event("Jazz Festival", city="Hamburg", category="Jazz")
    make_event("Rock Night", city="Hamburg", category="Rock")

    body = client.get("/api/v1/search", {"query": "jaz festivl"}).json()

    assert body["count"] == 1 and body["query"] == "jaz festivl"
    assert body["items"][0]["title"] == "Jazz Festival"
    assert body["facets"]["city"] == [{"value": "Hamburg", "label": "Hamburg", "count": 1}]
    assert body["sort"] == "relevance" and body["pages"] == 1


def test_api_events_filters_and_sorts(client: Client) -> None:
    make_event("Free one", price=0, city="Bonn")
    make_event("Dear one", price=Decimal("90"), city="Bonn")

    free = client.get("/api/v1/events", {"free": "true"}).json()
    priced = client.get("/api/v1/events", {"price_min": "50", "city": "bonn"}).json()

    assert [i["title"] for i in free["items"]] == ["Free one"]
    assert free["items"][0]["min_price"] == "0.00"
    assert [i["title"] for i in priced["items"]] == ["Dear one"]


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "sideways"},
        {"when": "someday"},
        {"lat": "91", "lon": "0"},
        {"lat": "52"},
        {"price_min": "-1"},
        {"per_page": "0"},
        {"page": "0"},
        {"query": "x" * 201},
        {"query": "nul\x00"},
    ],
    ids=lambda p: "-".join(p),
)
def test_api_bad_search_input_is_a_422_never_a_500(client: Client, params: dict) -> None:
    response = client.get("/api/v1/search", params)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] in (
        "VALIDATION_ERROR",
        "INVALID_EVENT",
        "QUERY_TOO_LONG",
    )


def test_api_nonsense_and_empty_queries_are_answers_not_errors(client: Client) -> None:
    make_event("Jazz Festival")

    empty = client.get("/api/v1/search", {"query": ""}).json()
    nonsense = client.get("/api/v1/search", {"query": "zzqxv!! ?? 'or 1=1"}).json()

    assert empty["count"] == 1 and empty["sort"] == "date"
    assert nonsense["count"] == 0 and nonsense["items"] == []


def test_event_created_through_the_api_is_found_by_performer_and_near_its_venue(
    client: Client, organizer
) -> None:
    from accounts.services import api_token_issue
    from tests.factories import PASSWORD

    token = api_token_issue(email=organizer.email, password=PASSWORD)
    starts = timezone.now() + timedelta(days=5)
    created = client.post(
        "/api/v1/events",
        {
            "title": "Harbour Sounds",
            "venue_name": "Pier 3",
            "city": "Hamburg",
            "latitude": 53.54,
            "longitude": 9.98,
            "performers": "Nina Wavelength",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "tiers": [{"name": "GA", "price": "10.00", "capacity": 50}],
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    event_id = created.json()["id"]
    client.post(f"/api/v1/events/{event_id}/publish", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert titles(query="wavelenght") == ["Harbour Sounds"]
    assert titles(latitude=53.55, longitude=10.0, radius_km=5) == ["Harbour Sounds"]
