"""The organizer's seating pages: scoping, forms and their errors, and constant query counts."""

import io
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEntry, User
from events.models import Event, TicketTier, Venue
from tests.factories import EventFactory, TicketTierFactory, UserFactory
from ticketing.models import EventSeat, MapSeat, SeatMap
from ticketing.seating.services import (
    SeatBlock,
    event_seating_apply,
    event_seats_block,
    order_reserve_seats,
    seat_map_create,
)

BLOCK = {
    "section": "Stalls",
    "rows": "2",
    "seats_per_row": "5",
    "first_row": "A",
    "zone": "A",
    "aisles_after": "",
    "x": "0",
    "y": "0",
}


@pytest.fixture
def organizer_client(client: Client, organizer: User) -> Client:
    client.force_login(organizer)
    return client


@pytest.fixture
def layout(organizer: User, event: Event) -> SeatMap:
    return seat_map_create(
        user=organizer,
        venue=event.venue,
        name="Main",
        blocks=[
            SeatBlock(section="Stalls", rows=2, seats_per_row=5, zone="A"),
            SeatBlock(section="Balcony", rows=1, seats_per_row=4, zone="B", y=3),
        ],
    )


@pytest.fixture
def foreign(db: None) -> dict[str, Any]:
    """Another organization's event, venue and layout."""
    event = EventFactory.create()
    tier = TicketTierFactory.create(event=event)
    owner = UserFactory.create()
    seat_map = seat_map_create(
        user=owner,
        venue=event.venue,
        name="Theirs",
        blocks=[SeatBlock(section="S", rows=1, seats_per_row=3, zone="A")],
    )
    event_seating_apply(user=owner, event=event, seat_map=seat_map, zone_tiers={"A": tier.pk})
    return {"event": event, "venue": event.venue, "seat_map": seat_map}


def map_seat(seat_map: SeatMap, label: str) -> MapSeat:
    section, rest = label.rsplit(" ", 1)
    row, number = rest.split("-")
    return seat_map.seats.get(section=section, row=row, number=number)


def text(response: Any) -> str:
    return response.content.decode()


# --- Scoping -------------------------------------------------------------------------------------

PAGES = [
    ("get", "/manage/venues/{venue}/seat-maps/"),
    ("post", "/manage/venues/{venue}/seat-maps/"),
    ("get", "/manage/venues/{venue}/seat-maps/import"),
    ("post", "/manage/venues/{venue}/seat-maps/import"),
    ("get", "/manage/seat-maps/{seat_map}/"),
    ("post", "/manage/seat-maps/{seat_map}/blocks"),
    ("post", "/manage/seat-maps/{seat_map}/bulk"),
    ("get", "/manage/seat-maps/{seat_map}/export.json"),
    ("post", "/manage/seat-maps/{seat_map}/delete"),
    ("get", "/manage/events/{event}/seating/"),
    ("post", "/manage/events/{event}/seating/apply"),
    ("post", "/manage/events/{event}/seating/block"),
]


def url_for(pattern: str, objects: dict[str, Any]) -> str:
    return pattern.format(
        venue=objects["venue"].pk, seat_map=objects["seat_map"].pk, event=objects["event"].pk
    )


@pytest.mark.parametrize(("method", "pattern"), PAGES)
def test_another_organizations_seating_is_a_404(
    organizer_client: Client, foreign: dict[str, Any], method: str, pattern: str
) -> None:
    seat = EventSeat.objects.filter(event=foreign["event"]).first()
    assert seat is not None
    audits = AuditEntry.objects.count()
    data = {
        **BLOCK,
        "name": "Mine",
        "text": "[]",
        "action": "block",
        "reason": "x",
        "seat": str(seat.pk),
        "seat_map": str(foreign["seat_map"].pk),
        "zone_0": "",
    }

    response = getattr(organizer_client, method)(url_for(pattern, foreign), data)

    assert response.status_code == 404
    assert AuditEntry.objects.count() == audits
    assert SeatMap.objects.filter(pk=foreign["seat_map"].pk).exists()
    assert not EventSeat.objects.filter(event=foreign["event"], blocked=True).exists()


@pytest.mark.parametrize(("method", "pattern"), PAGES)
def test_door_staff_cannot_open_seating_pages(
    client: Client,
    door_staff: User,
    event: Event,
    layout: SeatMap,
    method: str,
    pattern: str,
) -> None:
    client.force_login(door_staff)
    own = {"venue": event.venue, "seat_map": layout, "event": event}

    response = getattr(client, method)(url_for(pattern, own), {"name": "x"})

    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client: Client, layout: SeatMap) -> None:
    response = client.get(f"/manage/seat-maps/{layout.pk}/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_venue_list_shows_only_the_users_venues(
    organizer_client: Client, layout: SeatMap, foreign: dict[str, Any]
) -> None:
    response = organizer_client.get("/manage/venues/")

    assert response.status_code == 200
    assert [v.pk for v in response.context["venues"]] == [layout.venue_id]
    assert response.context["venues"][0].layouts == 1


def test_a_random_seat_map_id_is_a_404(organizer_client: Client) -> None:
    assert organizer_client.get(f"/manage/seat-maps/{uuid.uuid4()}/").status_code == 404


# --- Generating ----------------------------------------------------------------------------------


def test_new_layout_form_generates_the_first_block(organizer_client: Client, event: Event) -> None:
    response = organizer_client.post(
        f"/manage/venues/{event.venue_id}/seat-maps/",
        {**BLOCK, "name": "Concert", "aisles_after": "2"},
    )

    seat_map = SeatMap.objects.get(venue=event.venue, name="Concert")
    assert response.status_code == 302
    assert response["Location"] == f"/manage/seat-maps/{seat_map.pk}/"
    assert seat_map.seats.count() == 10
    assert list(seat_map.seats.filter(row="A").values_list("x", flat=True)) == [0, 1, 3, 4, 5]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"rows": "0"}, "rows", "greater than or equal to 1"),
        ({"seats_per_row": "201"}, "seats_per_row", "less than or equal to 200"),
        ({"first_row": "A1"}, "first_row", "Use one letter or a number"),
        ({"aisles_after": "two"}, "aisles_after", "separated by commas"),
        ({"aisles_after": "5"}, "aisles_after", "Aisles go after seats 1 to 4"),
        ({"zone": ""}, "zone", "required"),
        ({"name": ""}, "name", "required"),
        ({"y": "-1"}, "y", "greater than or equal to 0"),
    ],
)
def test_new_layout_form_shows_field_errors(
    organizer_client: Client, event: Event, change: dict[str, str], field: str, message: str
) -> None:
    response = organizer_client.post(
        f"/manage/venues/{event.venue_id}/seat-maps/", {**BLOCK, "name": "X", **change}
    )

    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert not SeatMap.objects.exists()


def test_a_taken_layout_name_is_a_form_error(organizer_client: Client, layout: SeatMap) -> None:
    response = organizer_client.post(
        f"/manage/venues/{layout.venue_id}/seat-maps/", {**BLOCK, "name": "Main"}
    )

    assert response.status_code == 422
    assert "already has a layout called Main" in text(response)


def test_add_block_form_adds_seats_beside_the_layout(
    organizer_client: Client, layout: SeatMap
) -> None:
    response = organizer_client.post(
        f"/manage/seat-maps/{layout.pk}/blocks",
        {**BLOCK, "section": "Side", "zone": "C", "x": "10"},
    )

    assert response.status_code == 302
    assert layout.seats.filter(section="Side", zone="C").count() == 10


def test_add_block_on_top_of_seats_is_a_form_error(
    organizer_client: Client, layout: SeatMap
) -> None:
    response = organizer_client.post(
        f"/manage/seat-maps/{layout.pk}/blocks", {**BLOCK, "section": "Over"}
    )

    assert response.status_code == 422
    assert "Two seats at one spot" in text(response)
    assert not layout.seats.filter(section="Over").exists()


def test_edit_page_suggests_the_first_free_row_for_the_next_block(
    organizer_client: Client, layout: SeatMap
) -> None:
    response = organizer_client.get(f"/manage/seat-maps/{layout.pk}/")

    assert response.context["block_form"].initial["y"] == 5  # balcony on y=3, one row gap


# --- Import and export ---------------------------------------------------------------------------

SEATS = [
    {"section": "Pit", "row": "A", "number": "1", "x": 0, "y": 0, "zone": "A", "wheelchair": True},
    {"section": "Pit", "row": "A", "number": "2", "x": 1, "y": 0, "zone": "A"},
]


def test_pasting_json_imports_a_layout(organizer_client: Client, event: Event) -> None:
    response = organizer_client.post(
        f"/manage/venues/{event.venue_id}/seat-maps/import",
        {"name": "Pasted", "fmt": "auto", "text": json.dumps(SEATS)},
    )

    seat_map = SeatMap.objects.get(name="Pasted")
    assert response.status_code == 302
    assert list(seat_map.seats.values_list("number", "wheelchair")) == [("1", True), ("2", False)]


def test_uploading_csv_imports_a_layout(organizer_client: Client, event: Event) -> None:
    upload = io.BytesIO(
        b"\xef\xbb\xbfsection,row,number,x,y,zone,aisle\nPit,A,1,0,0,A,yes\nPit,A,2,1,0,B,no\n"
    )
    upload.name = "hall.csv"

    response = organizer_client.post(
        f"/manage/venues/{event.venue_id}/seat-maps/import",
        {"name": "Uploaded", "fmt": "auto", "file": upload},
    )

    assert response.status_code == 302
    seat_map = SeatMap.objects.get(name="Uploaded")
    assert list(seat_map.seats.values_list("zone", "aisle")) == [("A", True), ("B", False)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "{broken"}, "Not valid JSON"),
        ({"text": json.dumps([SEATS[0], SEATS[0]])}, "Seat labels used twice: Pit A-1"),
        ({"text": "section,row\nPit,A\n", "fmt": "csv"}, "Seat 1: number must be"),
        ({"text": ""}, "Upload a file or paste the layout"),
        ({"text": "[]", "file": "both"}, "Upload a file or paste the layout"),
        ({"file": b"\xff\xfe\x00garbage"}, "not UTF-8"),
        ({"text": json.dumps(SEATS), "name": ""}, "This field is required"),
    ],
)
def test_a_bad_import_is_a_form_error_never_a_500(
    organizer_client: Client, event: Event, data: dict[str, Any], message: str
) -> None:
    post: dict[str, Any] = {"name": "Bad", "fmt": "auto", **data}
    if "file" in post:
        content = post["file"] if isinstance(post["file"], bytes) else b"[]"
        post["file"] = io.BytesIO(content)
        post["file"].name = "layout.json"

    response = organizer_client.post(f"/manage/venues/{event.venue_id}/seat-maps/import", post)

    assert response.status_code == 422
    assert message in text(response)
    assert not SeatMap.objects.filter(name="Bad").exists()


def test_export_downloads_json_that_imports_again(
    organizer_client: Client, layout: SeatMap
) -> None:
    response = organizer_client.get(f"/manage/seat-maps/{layout.pk}/export.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="main-hall-main.json"'
    again = organizer_client.post(
        f"/manage/venues/{layout.venue_id}/seat-maps/import",
        {"name": "Again", "fmt": "auto", "text": response.content.decode()},
    )
    assert again.status_code == 302
    assert SeatMap.objects.get(name="Again").seats.count() == layout.seats.count() == 14


# --- The edit page -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=balcony a-2", ["Balcony A-2"]),
        ("section=Balcony", [f"Balcony A-{n}" for n in range(1, 5)]),
        ("zone=B&q=-4", ["Balcony A-4"]),
        ("attribute=wheelchair", ["Stalls B-3"]),
        ("attribute=plain&section=Stalls&q=A-", ["Stalls A-2", "Stalls A-3", "Stalls A-4"]),
    ],
)
def test_edit_page_filters_seats(
    organizer_client: Client, organizer: User, layout: SeatMap, query: str, expected: list[str]
) -> None:
    from ticketing.seating.services import seat_map_edit

    wheelchair = map_seat(layout, "Stalls B-3").pk
    seat_map_edit(
        user=organizer, seat_map=layout, seat_ids=[wheelchair], attributes={"wheelchair": True}
    )

    response = organizer_client.get(f"/manage/seat-maps/{layout.pk}/?{query}")

    assert response.status_code == 200
    assert [s.label for s in response.context["page"]] == expected


def test_edit_page_draws_every_seat_with_its_shape(
    organizer_client: Client, organizer: User, layout: SeatMap
) -> None:
    from ticketing.seating.services import seat_map_edit

    seat_map_edit(
        user=organizer,
        seat_map=layout,
        seat_ids=[map_seat(layout, "Stalls A-3").pk],
        attributes={"wheelchair": True},
    )

    svg = str(organizer_client.get(f"/manage/seat-maps/{layout.pk}/").context["svg"])

    assert svg.count('class="seat ') == 14
    assert svg.count("<rect x=") == 1  # the wheelchair space is a square
    assert 'data-label="Stalls A-3"' in svg
    assert "Stalls A-3 (zone A, wheelchair space, aisle)" not in svg  # A-3 is mid-row
    assert "Stalls A-3 (zone A, wheelchair space)" in svg


def bulk(client: Client, layout: SeatMap, **data: Any) -> Any:
    return client.post(f"/manage/seat-maps/{layout.pk}/bulk", {"scope": "selected", **data})


def test_bulk_remove_deletes_the_ticked_seats(organizer_client: Client, layout: SeatMap) -> None:
    ticked = [map_seat(layout, "Stalls A-1").pk, map_seat(layout, "Stalls A-2").pk]

    response = bulk(organizer_client, layout, action="remove", seat=ticked, query="section=Stalls")

    assert response.status_code == 302
    assert response["Location"] == f"/manage/seat-maps/{layout.pk}/?section=Stalls"
    assert layout.seats.count() == 12
    assert not layout.seats.filter(pk__in=ticked).exists()


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        ("mark_wheelchair", "wheelchair", True),
        ("mark_companion", "companion", True),
        ("mark_restricted_view", "restricted_view", True),
        ("unmark_aisle", "aisle", False),
    ],
)
def test_bulk_marks_and_unmarks_attributes(
    organizer_client: Client, layout: SeatMap, action: str, field: str, value: bool
) -> None:
    pk = map_seat(layout, "Stalls A-1").pk  # an aisle seat (end of row)

    response = bulk(organizer_client, layout, action=action, seat=[pk])

    assert response.status_code == 302
    assert getattr(MapSeat.objects.get(pk=pk), field) is value


def test_bulk_set_zone_for_every_seat_the_filter_matches(
    organizer_client: Client, layout: SeatMap
) -> None:
    response = bulk(
        organizer_client, layout, action="zone", zone="Gallery", scope="filter",
        query="section=Balcony",
    )  # fmt: skip

    assert response.status_code == 302
    assert set(layout.seats.filter(zone="Gallery").values_list("section", flat=True)) == {"Balcony"}
    assert layout.seats.filter(zone="Gallery").count() == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "zone", "zone": "", "seat": ["{pk}"]}, "Name the zone to set."),
        ({"action": "remove"}, "Tick the seats to change first."),
        ({"action": "explode", "seat": ["{pk}"]}, "Select a valid choice"),
    ],
)
def test_bulk_form_errors(
    organizer_client: Client, layout: SeatMap, data: dict[str, Any], message: str
) -> None:
    pk = map_seat(layout, "Stalls A-1").pk
    if "seat" in data:
        data["seat"] = [pk]

    response = bulk(organizer_client, layout, **data)

    assert response.status_code == 422
    assert message in text(response)
    assert layout.seats.count() == 14


def labels_post(layout: SeatMap, changes: dict[str, tuple[str, str, str]]) -> dict[str, Any]:
    """The relabel form as the page sends it: every seat on the page, a few changed."""
    data: dict[str, Any] = {"do": "relabel", "on_page": [], "query": "section=Stalls"}
    for seat in layout.seats.filter(section="Stalls"):
        data["on_page"].append(seat.pk)
        section, row, number = changes.get(seat.label, (seat.section, seat.row, seat.number))
        data.update({f"section_{seat.pk}": section, f"row_{seat.pk}": row})
        data[f"number_{seat.pk}"] = number
    return data


def test_inline_relabel_swaps_two_labels(organizer_client: Client, layout: SeatMap) -> None:
    first, second = map_seat(layout, "Stalls A-1"), map_seat(layout, "Stalls A-2")

    response = organizer_client.post(
        f"/manage/seat-maps/{layout.pk}/bulk",
        labels_post(
            layout, {"Stalls A-1": ("Stalls", "A", "2"), "Stalls A-2": ("Stalls", "A", "1")}
        ),
    )

    assert response.status_code == 302
    assert MapSeat.objects.get(pk=first.pk).number == "2"
    assert MapSeat.objects.get(pk=second.pk).number == "1"


def test_inline_relabel_onto_a_used_label_is_a_form_error(
    organizer_client: Client, layout: SeatMap
) -> None:
    response = organizer_client.post(
        f"/manage/seat-maps/{layout.pk}/bulk",
        labels_post(layout, {"Stalls A-1": ("Balcony", "A", "1")}),
    )

    assert response.status_code == 422
    assert "Seat labels used twice: Balcony A-1" in text(response)
    assert map_seat(layout, "Stalls A-1")


def test_delete_layout(organizer_client: Client, layout: SeatMap) -> None:
    response = organizer_client.post(f"/manage/seat-maps/{layout.pk}/delete")

    assert response.status_code == 302
    assert not SeatMap.objects.exists()


# --- The event's seating page --------------------------------------------------------------------


@pytest.fixture
def tiers(event: Event) -> dict[str, TicketTier]:
    return {
        "stalls": TicketTierFactory.create(event=event, name="Stalls", price=Decimal("50")),
        "balcony": TicketTierFactory.create(event=event, name="Balcony", price=Decimal("30")),
    }


def apply_post(client: Client, event: Event, layout: SeatMap, **zones: Any) -> Any:
    data = {"seat_map": str(layout.pk)}
    data.update({f"zone_{i}": str(v) for i, v in enumerate(zones.values())})
    return client.post(f"/manage/events/{event.pk}/seating/apply", data)


def test_choosing_a_layout_shows_a_tier_choice_per_zone(
    organizer_client: Client, event: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    response = organizer_client.get(f"/manage/events/{event.pk}/seating/?seat_map={layout.pk}")

    form = response.context["apply"]
    assert form.zone_fields == [("A", "zone_0"), ("B", "zone_1")]
    assert "Zone A" in text(response)


def test_applying_a_layout_puts_its_seats_on_sale(
    organizer_client: Client, event: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    response = apply_post(
        organizer_client, event, layout, A=tiers["stalls"].pk, B=tiers["balcony"].pk
    )

    assert response.status_code == 302
    assert EventSeat.objects.filter(event=event, tier=tiers["stalls"]).count() == 10
    tiers["balcony"].refresh_from_db()
    assert tiers["balcony"].capacity == 4
    page = organizer_client.get(f"/manage/events/{event.pk}/seating/")
    assert page.context["seat_count"] == 14
    assert [(r["tier"].name, r["total"], r["available"]) for r in page.context["tier_counts"]] == [
        ("Balcony", 4, 4),
        ("Stalls", 10, 10),
    ]


def test_applying_without_a_tier_for_a_zone_is_a_form_error(
    organizer_client: Client, event: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    response = apply_post(organizer_client, event, layout, A=tiers["stalls"].pk, B="")

    assert response.status_code == 422
    assert "This field is required" in text(response)
    assert not EventSeat.objects.filter(event=event).exists()


def test_applying_a_foreign_tier_or_layout_is_refused(
    organizer_client: Client,
    event: Event,
    layout: SeatMap,
    tiers: dict[str, TicketTier],
    foreign: dict[str, Any],
) -> None:
    foreign_tier = foreign["event"].tiers.get()
    wrong_tier = apply_post(organizer_client, event, layout, A=foreign_tier.pk, B=foreign_tier.pk)
    wrong_map = apply_post(organizer_client, event, foreign["seat_map"], A=tiers["stalls"].pk)

    assert wrong_tier.status_code == 422
    assert "Select a valid choice" in text(wrong_tier)
    assert wrong_map.status_code == 302  # back to the page with "choose one of this venue's"
    assert not EventSeat.objects.filter(event=event).exists()


def test_applying_after_orders_is_a_form_error(
    organizer_client: Client,
    organizer: User,
    event: Event,
    layout: SeatMap,
    tiers: dict[str, TicketTier],
) -> None:
    event_seating_apply(
        user=organizer,
        event=event,
        seat_map=layout,
        zone_tiers={"A": tiers["stalls"].pk, "B": tiers["balcony"].pk},
    )
    seat = EventSeat.objects.filter(event=event).first()
    assert seat is not None
    order_reserve_seats(
        buyer=UserFactory.create(), event_id=event.pk, idempotency_key="k", seat_ids=[seat.pk]
    )

    response = apply_post(
        organizer_client, event, layout, A=tiers["balcony"].pk, B=tiers["balcony"].pk
    )

    assert response.status_code == 422
    assert "has orders already" in text(response)
    assert organizer_client.get(f"/manage/events/{event.pk}/seating/").context["has_orders"]


@pytest.fixture
def seated(organizer: User, event: Event, layout: SeatMap, tiers: dict[str, TicketTier]) -> Event:
    event_seating_apply(
        user=organizer,
        event=event,
        seat_map=layout,
        zone_tiers={"A": tiers["stalls"].pk, "B": tiers["balcony"].pk},
    )
    return event


def test_blocking_by_labels_shows_the_blocked_seats_and_counts(
    organizer_client: Client, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    response = organizer_client.post(
        f"/manage/events/{seated.pk}/seating/block",
        {"action": "block", "labels": "Stalls A-1, stalls a-2\nBalcony A-4", "reason": "Camera"},
    )

    assert response.status_code == 302
    page = organizer_client.get(f"/manage/events/{seated.pk}/seating/")
    assert sorted(s.label for s in page.context["blocked"]) == [
        "Balcony A-4",
        "Stalls A-1",
        "Stalls A-2",
    ]
    rows = page.context["tier_counts"]
    counts = {r["tier"].name: (r["tier"].capacity, r["blocked"]) for r in rows}
    assert counts == {"Stalls": (8, 2), "Balcony": (3, 1)}
    assert "Camera" in text(page)


def test_releasing_ticked_seats(
    organizer_client: Client, organizer: User, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    balcony = EventSeat.objects.filter(event=seated, section="Balcony")
    ids = list(balcony.values_list("pk", flat=True))
    event_seats_block(user=organizer, event=seated, seat_ids=ids, blocked=True, reason="Desk")

    response = organizer_client.post(
        f"/manage/events/{seated.pk}/seating/block",
        {"action": "release", "seat": [str(pk) for pk in ids[:2]]},
    )

    assert response.status_code == 302
    assert EventSeat.objects.filter(event=seated, blocked=True).count() == 2
    tiers["balcony"].refresh_from_db()
    assert tiers["balcony"].capacity == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "block", "labels": "Stalls Z-99", "reason": "x"}, "No such seat: Stalls Z-99"),
        ({"action": "block", "labels": "nonsense", "reason": "x"}, "No such seat: nonsense"),
        ({"action": "block", "labels": "Stalls A-1", "reason": ""}, "Say why the seats are"),
        ({"action": "block", "reason": "x"}, "Tick seats or list their labels."),
        ({"action": "melt", "labels": "Stalls A-1"}, "Select a valid choice"),
    ],
)
def test_blocking_form_errors(
    organizer_client: Client, seated: Event, data: dict[str, str], message: str
) -> None:
    response = organizer_client.post(f"/manage/events/{seated.pk}/seating/block", data)

    assert response.status_code == 422
    assert message in text(response)
    assert not EventSeat.objects.filter(event=seated, blocked=True).exists()


def test_event_seat_table_filters_by_state(
    organizer_client: Client, organizer: User, seated: Event
) -> None:
    seat = EventSeat.objects.get(event=seated, section="Stalls", row="B", number="5")
    event_seats_block(user=organizer, event=seated, seat_ids=[seat.pk], blocked=True, reason="x")

    response = organizer_client.get(f"/manage/events/{seated.pk}/seating/?state=b")

    assert [s.label for s in response.context["page"]] == ["Stalls B-5"]
    assert response.context["page"][0].state == "b"


def test_event_edit_page_links_to_seating(organizer_client: Client, event: Event) -> None:
    response = organizer_client.get(f"/manage/events/{event.pk}/")

    assert f'href="/manage/events/{event.pk}/seating/"' in text(response)


# --- Query counts ------------------------------------------------------------------------------


def grow(organizer: User, seat_map: SeatMap, y: int) -> None:
    from ticketing.seating.services import seat_map_add_blocks

    seat_map_add_blocks(
        user=organizer,
        seat_map=seat_map,
        blocks=[SeatBlock(section=f"S{y}", rows=5, seats_per_row=30, zone=f"Z{y % 4}", y=y)],
    )


def test_edit_page_queries_do_not_grow_with_seats(
    organizer_client: Client, organizer: User, layout: SeatMap, django_assert_max_num_queries: Any
) -> None:
    url = f"/manage/seat-maps/{layout.pk}/"
    organizer_client.get(url)
    with django_assert_max_num_queries(12) as few:
        organizer_client.get(url)
    for y in range(10, 60, 10):
        grow(organizer, layout, y)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = organizer_client.get(url)

    assert response.context["seat_count"] == 14 + 750
    assert len(response.context["page"]) == 100


def test_event_seating_page_queries_do_not_grow_with_seats(
    organizer_client: Client,
    organizer: User,
    event: Event,
    layout: SeatMap,
    tiers: dict[str, TicketTier],
    django_assert_max_num_queries: Any,
) -> None:
    zones = {"A": tiers["stalls"].pk, "B": tiers["balcony"].pk}
    event_seating_apply(user=organizer, event=event, seat_map=layout, zone_tiers=zones)
    url = f"/manage/events/{event.pk}/seating/?seat_map={layout.pk}"
    organizer_client.get(url)
    with django_assert_max_num_queries(16) as few:
        organizer_client.get(url)
    for y in range(10, 40, 10):
        grow(organizer, layout, y)
    extra = TicketTierFactory.create(event=event, name="Upper")
    zones.update({f"Z{y % 4}": extra.pk for y in range(10, 40, 10)})
    EventSeat.objects.filter(event=event).delete()
    event_seating_apply(user=organizer, event=event, seat_map=layout, zone_tiers=zones)
    ids = list(EventSeat.objects.filter(event=event).values_list("pk", flat=True)[:40])
    event_seats_block(user=organizer, event=event, seat_ids=ids, blocked=True, reason="x")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = organizer_client.get(url)

    assert response.context["seat_count"] == 14 + 450
    assert len(response.context["blocked"]) == 40


def test_venue_pages_queries_are_constant(
    organizer_client: Client, organizer: User, event: Event, django_assert_max_num_queries: Any
) -> None:
    for n in range(8):
        venue = Venue.objects.create(organization=event.organization, name=f"Hall {n}", city="X")
        seat_map_create(
            user=organizer,
            venue=venue,
            name="Main",
            blocks=[SeatBlock(section="S", rows=1, seats_per_row=2, zone="A")],
        )
    organizer_client.get("/manage/venues/")

    with django_assert_max_num_queries(6):
        response = organizer_client.get("/manage/venues/")
    with django_assert_max_num_queries(7):
        organizer_client.get(f"/manage/venues/{venue.pk}/seat-maps/")

    assert len(response.context["venues"]) == 9
