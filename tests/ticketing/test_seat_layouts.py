"""Venue layouts and an event's seats, through the seating services: generate, import, edit,
apply to an event, block and release."""

import json
import uuid
from decimal import Decimal

import pytest

from accounts.models import AuditEntry, User
from events.models import Event, TicketTier
from tests.factories import EventFactory, TicketTierFactory, UserFactory
from ticketing.errors import SeatLayoutInvalid, SeatTaken, UnknownTier
from ticketing.models import EventSeat, MapSeat, SeatMap
from ticketing.seating.services import (
    SeatBlock,
    event_seat_states,
    event_seating_apply,
    event_seats_block,
    layout_export,
    layout_parse,
    order_reserve_seats,
    seat_map_add_blocks,
    seat_map_create,
    seat_map_delete,
    seat_map_edit,
)


def labels(seat_map: SeatMap) -> list[str]:
    return [seat.label for seat in seat_map.seats.order_by("y", "x")]


def seat(seat_map: SeatMap, label: str) -> MapSeat:
    section, rest = label.rsplit(" ", 1)
    row, number = rest.split("-")
    return seat_map.seats.get(section=section, row=row, number=number)


@pytest.fixture
def layout(organizer: User, event: Event) -> SeatMap:
    """Stalls: 3 rows of 6 with an aisle after seat 3, zone A in front of zone B."""
    return seat_map_create(
        user=organizer,
        venue=event.venue,
        name="Main",
        blocks=[
            SeatBlock(section="Stalls", rows=2, seats_per_row=6, zone="A", aisles_after=(3,)),
            SeatBlock(section="Stalls", rows=1, seats_per_row=6, zone="B", first_row="C", y=2),
        ],
    )


# --- Generating blocks -------------------------------------------------------------------------


def test_generated_block_labels_rows_from_the_first_row_and_numbers_seats_from_one(
    organizer: User, event: Event
) -> None:
    seat_map = seat_map_create(
        user=organizer,
        venue=event.venue,
        name="Small",
        blocks=[SeatBlock(section="Balcony", rows=3, seats_per_row=4, zone="A")],
    )

    assert labels(seat_map) == [f"Balcony {r}-{n}" for r in "ABC" for n in range(1, 5)]
    assert seat(seat_map, "Balcony C-4").label == "Balcony C-4"


@pytest.mark.parametrize(
    ("first_row", "expected"),
    [("1", ["1", "2", "3", "4"]), ("Y", ["Y", "Z", "AA", "AB"]), ("c", ["C", "D", "E", "F"])],
)
def test_row_labels_count_on_from_a_number_or_past_z(
    organizer: User, event: Event, first_row: str, expected: list[str]
) -> None:
    seat_map = seat_map_create(
        user=organizer,
        venue=event.venue,
        name="Rows",
        blocks=[SeatBlock(section="S", rows=4, seats_per_row=1, zone="A", first_row=first_row)],
    )

    assert [s.row for s in seat_map.seats.order_by("y")] == expected


def test_neighbours_in_a_row_are_one_apart_and_an_aisle_leaves_a_gap(layout: SeatMap) -> None:
    row_a = list(layout.seats.filter(row="A").order_by("x"))

    assert [s.number for s in row_a] == ["1", "2", "3", "4", "5", "6"]
    assert [s.x for s in row_a] == [0, 1, 2, 4, 5, 6]  # seats 3 and 4 are not neighbours
    assert {s.y for s in row_a} == {0}
    # Aisle seats: the ends of the row and both sides of the gap.
    assert [s.number for s in row_a if s.aisle] == ["1", "3", "4", "6"]


def test_rows_are_ranked_front_first_and_middle_first(layout: SeatMap) -> None:
    ranks = {s.label: s.rank for s in layout.seats.all()}

    assert ranks["Stalls A-3"] < ranks["Stalls A-1"]  # nearer the middle
    assert max(r for label, r in ranks.items() if "A-" in label) < ranks["Stalls B-3"]


def test_a_block_overlapping_the_layout_is_refused_and_adds_nothing(
    organizer: User, layout: SeatMap
) -> None:
    before = layout.seats.count()

    with pytest.raises(SeatLayoutInvalid, match="Two seats at one spot"):
        seat_map_add_blocks(
            user=organizer,
            seat_map=layout,
            blocks=[SeatBlock(section="Circle", rows=1, seats_per_row=2, zone="C", y=1)],
        )
    assert layout.seats.count() == before


def test_a_block_reusing_labels_is_refused(organizer: User, layout: SeatMap) -> None:
    with pytest.raises(SeatLayoutInvalid, match="Seat labels used twice: Stalls A-1"):
        seat_map_add_blocks(
            user=organizer,
            seat_map=layout,
            blocks=[SeatBlock(section="Stalls", rows=1, seats_per_row=1, zone="A", y=9)],
        )


def test_adding_a_block_beside_the_layout_reranks_every_seat(
    organizer: User, layout: SeatMap
) -> None:
    rank_before = seat(layout, "Stalls A-1").rank

    added = seat_map_add_blocks(
        user=organizer,
        seat_map=layout,
        blocks=[SeatBlock(section="Side", rows=1, seats_per_row=4, zone="C", x=20)],
    )

    assert added == 4
    assert layout.seats.filter(section="Side").count() == 4
    # The middle moved right, towards the new block: A-1 is now further from it.
    assert seat(layout, "Stalls A-1").rank > rank_before
    assert AuditEntry.objects.filter(action="seat_map.add_blocks").count() == 1


@pytest.mark.parametrize(
    "block",
    [
        SeatBlock(section="S", rows=0, seats_per_row=4, zone="A"),
        SeatBlock(section="S", rows=2, seats_per_row=201, zone="A"),
    ],
)
def test_block_sizes_are_bounded(organizer: User, event: Event, block: SeatBlock) -> None:
    with pytest.raises(SeatLayoutInvalid, match="1 to 200"):
        seat_map_create(user=organizer, venue=event.venue, name="Big", blocks=[block])


def test_layout_names_are_unique_per_venue(organizer: User, layout: SeatMap) -> None:
    with pytest.raises(SeatLayoutInvalid, match="already has a layout called Main"):
        seat_map_create(
            user=organizer,
            venue=layout.venue,
            name="Main",
            blocks=[SeatBlock(section="S", rows=1, seats_per_row=1, zone="A")],
        )


# --- Import and export -----------------------------------------------------------------------

GOOD = {"section": "Stalls", "row": "A", "number": "1", "x": 0, "y": 0, "zone": "A"}


def test_json_import_accepts_a_list_or_an_object_with_seats() -> None:
    second = {**GOOD, "number": "2", "x": 1, "wheelchair": True}

    as_list = layout_parse(data=json.dumps([GOOD, second]), fmt="json")
    as_object = layout_parse(data=json.dumps({"seats": [GOOD, second]}), fmt="json")

    assert as_list == as_object
    assert [s["wheelchair"] for s in as_list] == [False, True]


def test_csv_import_reads_booleans_in_every_spelling() -> None:
    data = (
        "section,row,number,x,y,zone,wheelchair,companion,restricted_view,aisle\n"
        "Stalls,A,1,0,0,A,1,no,false,yes\n"
        "Stalls,A,2,1,0,A,true,0,TRUE,n\n"
    )

    seats = layout_parse(data=data, fmt="csv")

    assert [(s["wheelchair"], s["companion"], s["restricted_view"], s["aisle"]) for s in seats] == [
        (True, False, False, True),
        (True, False, True, False),
    ]


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        ("{not json", "json", "Not valid JSON"),
        ('"seats"', "json", "Expected a list of seats"),
        ("[1, 2]", "json", "Expected a list of seats"),
        ('{"rows": []}', "json", "Expected a list of seats"),
        ("[]", "json", "at least one seat"),
        (json.dumps([{**GOOD, "section": ""}]), "json", "Seat 1: section must be 1 to 50"),
        (json.dumps([{k: v for k, v in GOOD.items() if k != "zone"}]), "json", "Seat 1: zone"),
        (json.dumps([{**GOOD, "row": "R" * 11}]), "json", "Seat 1: row must be 1 to 10"),
        (json.dumps([{**GOOD, "x": "left"}]), "json", "Seat 1: x must be a whole number"),
        (json.dumps([{**GOOD, "y": None}]), "json", "Seat 1: y must be a whole number"),
        (json.dumps([{**GOOD, "x": -1}]), "json", "Seat 1: x must be between 0 and 10000"),
        (json.dumps([{**GOOD, "y": 10_001}]), "json", "Seat 1: y must be between 0 and 10000"),
        (json.dumps([GOOD, {**GOOD, "x": 1}]), "json", "Seat labels used twice: Stalls A-1"),
        (json.dumps([GOOD, {**GOOD, "number": "2"}]), "json", "Two seats at one spot: x=0 y=0"),
        ("section,row,number,x,y\nS,A,1,0,0\n", "csv", "Seat 1: zone"),
        ("section,row,number,x,y,zone\nS,A,1,0,0,A\nS,A,2,zero,0,A\n", "csv", "Seat 2: x"),
        ("", "csv", "at least one seat"),
        (json.dumps([GOOD]), "xml", "The format is json or csv"),
    ],
)
def test_import_names_what_is_wrong(data: str, fmt: str, message: str) -> None:
    with pytest.raises(SeatLayoutInvalid, match=message) as caught:
        layout_parse(data=data, fmt=fmt)

    assert caught.value.code == "SEAT_LAYOUT_INVALID"


def test_a_layout_has_at_most_twenty_thousand_seats() -> None:
    seats = [{**GOOD, "number": str(n), "x": n % 200, "y": n // 200} for n in range(20_001)]

    with pytest.raises(SeatLayoutInvalid, match="at most 20000 seats"):
        layout_parse(data=json.dumps(seats), fmt="json")


def test_an_exported_layout_imports_as_it_was(organizer: User, layout: SeatMap) -> None:
    seat_map_edit(
        user=organizer,
        seat_map=layout,
        seat_ids=[seat(layout, "Stalls B-2").pk],
        attributes={"wheelchair": True, "restricted_view": True},
    )

    exported = layout_export(seat_map=layout)
    again = seat_map_create(
        user=organizer,
        venue=layout.venue,
        name="Copy",
        seats=layout_parse(data=exported, fmt="json"),
    )

    fields = ("section", "row", "number", "x", "y", "zone", "rank", "wheelchair", "aisle")
    assert list(again.seats.values_list(*fields)) == list(layout.seats.values_list(*fields))
    assert seat(again, "Stalls B-2").restricted_view


# --- Editing ---------------------------------------------------------------------------------


def test_removing_seats_leaves_the_rest(organizer: User, layout: SeatMap) -> None:
    gone = [seat(layout, "Stalls A-1").pk, seat(layout, "Stalls C-6").pk]

    changed = seat_map_edit(user=organizer, seat_map=layout, seat_ids=gone, remove=True)

    assert changed == 2
    assert layout.seats.count() == 16
    assert "Stalls A-1" not in labels(layout)
    assert AuditEntry.objects.filter(action="seat_map.edit").count() == 1


def test_removing_every_seat_is_refused(organizer: User, layout: SeatMap) -> None:
    everything = list(layout.seats.values_list("pk", flat=True))

    with pytest.raises(SeatLayoutInvalid, match="at least one seat"):
        seat_map_edit(user=organizer, seat_map=layout, seat_ids=everything, remove=True)
    assert layout.seats.count() == 18


def test_relabel_renames_a_seat(organizer: User, layout: SeatMap) -> None:
    pk = seat(layout, "Stalls A-1").pk

    seat_map_edit(user=organizer, seat_map=layout, seat_ids=[pk], relabel={pk: ("Box", "1", "A")})

    assert MapSeat.objects.get(pk=pk).label == "Box 1-A"


def test_two_seats_can_swap_labels(organizer: User, layout: SeatMap) -> None:
    first, second = seat(layout, "Stalls A-1"), seat(layout, "Stalls A-2")

    seat_map_edit(
        user=organizer,
        seat_map=layout,
        seat_ids=[first.pk, second.pk],
        relabel={first.pk: ("Stalls", "A", "2"), second.pk: ("Stalls", "A", "1")},
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, first.x) == ("2", 0)
    assert (second.number, second.x) == ("1", 1)


def test_relabel_onto_a_label_in_use_is_refused_and_changes_nothing(
    organizer: User, layout: SeatMap
) -> None:
    pk = seat(layout, "Stalls A-1").pk

    with pytest.raises(SeatLayoutInvalid, match="Seat labels used twice: Stalls A-2"):
        seat_map_edit(
            user=organizer, seat_map=layout, seat_ids=[pk], relabel={pk: ("Stalls", "A", "2")}
        )
    assert MapSeat.objects.get(pk=pk).label == "Stalls A-1"


def test_relabel_to_an_empty_part_is_refused(organizer: User, layout: SeatMap) -> None:
    pk = seat(layout, "Stalls A-1").pk

    with pytest.raises(SeatLayoutInvalid, match="number must be 1 to 10"):
        seat_map_edit(user=organizer, seat_map=layout, seat_ids=[pk], relabel={pk: ("S", "A", "")})


def test_zone_and_attributes_change_only_the_chosen_seats(organizer: User, layout: SeatMap) -> None:
    chosen = [seat(layout, "Stalls C-1").pk, seat(layout, "Stalls C-2").pk]

    seat_map_edit(user=organizer, seat_map=layout, seat_ids=chosen, zone="Access")
    seat_map_edit(
        user=organizer, seat_map=layout, seat_ids=chosen[:1], attributes={"wheelchair": True}
    )
    seat_map_edit(
        user=organizer, seat_map=layout, seat_ids=chosen[1:], attributes={"companion": True}
    )

    assert sorted(layout.seats.filter(zone="Access").values_list("pk", flat=True)) == sorted(chosen)
    assert list(layout.seats.filter(wheelchair=True).values_list("pk", flat=True)) == chosen[:1]
    assert list(layout.seats.filter(companion=True).values_list("pk", flat=True)) == chosen[1:]


def test_marking_a_seat_restricted_view_ranks_it_last(organizer: User, layout: SeatMap) -> None:
    pk = seat(layout, "Stalls A-3").pk

    seat_map_edit(
        user=organizer, seat_map=layout, seat_ids=[pk], attributes={"restricted_view": True}
    )

    worst = layout.seats.order_by("-rank").first()
    assert worst is not None and worst.pk == pk


def test_seats_of_another_layout_are_not_touched(
    organizer: User, layout: SeatMap, event: Event
) -> None:
    other = seat_map_create(
        user=organizer,
        venue=event.venue,
        name="Other",
        blocks=[SeatBlock(section="Stalls", rows=1, seats_per_row=2, zone="A")],
    )
    foreign = seat(other, "Stalls A-1").pk

    changed = seat_map_edit(user=organizer, seat_map=layout, seat_ids=[foreign], remove=True)

    assert changed == 0
    assert other.seats.count() == 2


def test_deleting_a_layout_keeps_the_events_seats(
    organizer: User, layout: SeatMap, event: Event
) -> None:
    tier = TicketTierFactory.create(event=event, name="A")
    event_seating_apply(
        user=organizer,
        event=event,
        seat_map=layout,
        zone_tiers={"A": tier.pk, "B": tier.pk},
    )

    seat_map_delete(user=organizer, seat_map=layout)

    assert not SeatMap.objects.filter(pk=layout.pk).exists()
    assert EventSeat.objects.filter(event=event).count() == 18


# --- Applying a layout to an event -------------------------------------------------------------


@pytest.fixture
def tiers(event: Event) -> dict[str, TicketTier]:
    return {
        "front": TicketTierFactory.create(
            event=event, name="Front", price=Decimal("80"), capacity=1
        ),
        "back": TicketTierFactory.create(event=event, name="Back", price=Decimal("40"), capacity=1),
        "ga": TicketTierFactory.create(event=event, name="Standing", capacity=300),
    }


@pytest.fixture
def seated(organizer: User, event: Event, layout: SeatMap, tiers: dict[str, TicketTier]) -> Event:
    event_seating_apply(
        user=organizer,
        event=event,
        seat_map=layout,
        zone_tiers={"A": tiers["front"].pk, "B": tiers["back"].pk},
    )
    return event


def capacity(tier: TicketTier) -> int:
    tier.refresh_from_db()
    return tier.capacity


def test_apply_copies_every_seat_and_sets_seated_capacities(
    seated: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    copied = EventSeat.objects.filter(event=seated)
    fields = ("section", "row", "number", "x", "y", "zone", "rank", "aisle", "wheelchair")

    assert sorted(copied.values_list(*fields)) == sorted(layout.seats.values_list(*fields))
    assert set(copied.filter(zone="A").values_list("tier", flat=True)) == {tiers["front"].pk}
    assert capacity(tiers["front"]) == 12
    assert capacity(tiers["back"]) == 6
    assert capacity(tiers["ga"]) == 300  # general admission beside the seats is left alone
    assert AuditEntry.objects.filter(action="event.seating_apply").count() == 1


def test_the_events_copy_does_not_follow_later_layout_edits(
    organizer: User, seated: Event, layout: SeatMap
) -> None:
    seat_map_edit(
        user=organizer, seat_map=layout, seat_ids=[seat(layout, "Stalls A-1").pk], remove=True
    )

    assert EventSeat.objects.filter(event=seated, row="A", number="1").exists()


def test_applying_again_before_orders_replaces_the_seats(
    organizer: User, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    smaller = seat_map_create(
        user=organizer,
        venue=seated.venue,
        name="Smaller",
        blocks=[SeatBlock(section="Pit", rows=1, seats_per_row=5, zone="A")],
    )

    event_seating_apply(
        user=organizer, event=seated, seat_map=smaller, zone_tiers={"A": tiers["back"].pk}
    )

    assert (
        list(EventSeat.objects.filter(event=seated).values_list("section", flat=True))
        == ["Pit"] * 5
    )
    assert capacity(tiers["back"]) == 5


def test_a_tier_left_without_seats_by_a_new_layout_is_not_sold_unseated(
    organizer: User, seated: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    assert capacity(tiers["back"]) == 6

    event_seating_apply(
        user=organizer,
        event=seated,
        seat_map=layout,
        zone_tiers={"A": tiers["front"].pk, "B": tiers["front"].pk},
    )

    assert capacity(tiers["front"]) == 18
    assert capacity(tiers["back"]) == 0  # its six seats went to Front
    assert capacity(tiers["ga"]) == 300


def test_apply_needs_a_tier_for_every_zone(
    organizer: User, event: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    with pytest.raises(SeatLayoutInvalid, match="Choose a tier for zone B"):
        event_seating_apply(
            user=organizer, event=event, seat_map=layout, zone_tiers={"A": tiers["front"].pk}
        )
    assert not EventSeat.objects.filter(event=event).exists()


def test_apply_refuses_another_events_tier(
    organizer: User, event: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    foreign = TicketTierFactory.create()

    with pytest.raises(UnknownTier):
        event_seating_apply(
            user=organizer,
            event=event,
            seat_map=layout,
            zone_tiers={"A": tiers["front"].pk, "B": foreign.pk},
        )


def test_apply_refuses_a_layout_of_another_venue(
    organizer: User, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    elsewhere = EventFactory.create(organization=layout.venue.organization)  # its own new venue
    tier = TicketTierFactory.create(event=elsewhere)

    with pytest.raises(SeatLayoutInvalid, match="another venue"):
        event_seating_apply(
            user=organizer,
            event=elsewhere,
            seat_map=layout,
            zone_tiers={"A": tier.pk, "B": tier.pk},
        )


def test_apply_is_refused_once_the_event_has_orders(
    organizer: User, seated: Event, layout: SeatMap, tiers: dict[str, TicketTier]
) -> None:
    buyer = UserFactory.create()
    first = EventSeat.objects.filter(event=seated).first()
    assert first is not None
    order_reserve_seats(buyer=buyer, event_id=seated.pk, idempotency_key="k1", seat_ids=[first.pk])

    with pytest.raises(SeatLayoutInvalid, match="has orders already"):
        event_seating_apply(
            user=organizer,
            event=seated,
            seat_map=layout,
            zone_tiers={"A": tiers["back"].pk, "B": tiers["back"].pk},
        )
    assert EventSeat.objects.get(pk=first.pk).order is not None  # the held seat is still there
    assert capacity(tiers["front"]) == 12


# --- Blocking and releasing ---------------------------------------------------------------------


def event_seat(event: Event, label: str) -> EventSeat:
    section, rest = label.rsplit(" ", 1)
    row, number = rest.split("-")
    return EventSeat.objects.get(event=event, section=section, row=row, number=number)


def test_blocking_takes_seats_off_sale_and_releasing_puts_them_back(
    organizer: User, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    ids = [event_seat(seated, f"Stalls A-{n}").pk for n in (1, 2)]

    blocked = event_seats_block(
        user=organizer, event=seated, seat_ids=ids, blocked=True, reason="Camera position"
    )

    assert blocked == 2
    assert capacity(tiers["front"]) == 10
    assert set(EventSeat.objects.filter(pk__in=ids).values_list("block_reason", flat=True)) == {
        "Camera position"
    }
    assert event_seat_states(event_id=seated.pk).count("b") == 2

    released = event_seats_block(user=organizer, event=seated, seat_ids=ids, blocked=False)

    assert released == 2
    assert capacity(tiers["front"]) == 12
    assert not EventSeat.objects.filter(pk__in=ids, blocked=True).exists()
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "event.seats_block" in actions and "event.seats_unblock" in actions


def test_blocking_twice_or_releasing_a_free_seat_changes_nothing(
    organizer: User, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    pk = event_seat(seated, "Stalls A-1").pk
    event_seats_block(user=organizer, event=seated, seat_ids=[pk], blocked=True, reason="x")

    again = event_seats_block(user=organizer, event=seated, seat_ids=[pk], blocked=True)
    free = event_seat(seated, "Stalls A-2").pk
    released = event_seats_block(user=organizer, event=seated, seat_ids=[free], blocked=False)

    assert (again, released) == (0, 0)
    assert capacity(tiers["front"]) == 11


def test_a_held_seat_cannot_be_blocked(
    organizer: User, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    held = event_seat(seated, "Stalls A-1")
    order_reserve_seats(
        buyer=UserFactory.create(), event_id=seated.pk, idempotency_key="k", seat_ids=[held.pk]
    )

    changed = event_seats_block(
        user=organizer, event=seated, seat_ids=[held.pk], blocked=True, reason="house"
    )

    assert changed == 0
    assert not EventSeat.objects.get(pk=held.pk).blocked
    assert capacity(tiers["front"]) == 12


def test_seats_of_another_event_are_not_blocked(organizer: User, seated: Event) -> None:
    other = EventFactory.create()
    tier = TicketTierFactory.create(event=other)
    foreign = EventSeat.objects.create(
        event=other, tier=tier, section="S", row="A", number="1", x=0, y=0, zone="A"
    )

    changed = event_seats_block(
        user=organizer, event=seated, seat_ids=[foreign.pk], blocked=True, reason="x"
    )

    assert changed == 0
    foreign.refresh_from_db()
    assert not foreign.blocked


def test_a_blocked_seat_is_never_sold(
    organizer: User, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    blocked = event_seat(seated, "Stalls A-1")
    free = event_seat(seated, "Stalls A-2")
    event_seats_block(
        user=organizer, event=seated, seat_ids=[blocked.pk], blocked=True, reason="house seat"
    )
    buyer = UserFactory.create()

    with pytest.raises(SeatTaken) as caught:
        order_reserve_seats(
            buyer=buyer,
            event_id=seated.pk,
            idempotency_key=uuid.uuid4().hex,
            seat_ids=[blocked.pk, free.pk],
        )

    assert caught.value.details["taken"] == [{"id": str(blocked.pk), "label": "Stalls A-1"}]
    # All or nothing: the free seat of the same selection was not held either.
    assert EventSeat.objects.get(pk=free.pk).order is None
    assert EventSeat.objects.get(pk=blocked.pk).order is None
    tiers["front"].refresh_from_db()
    assert tiers["front"].sold_count == 0


def test_best_available_skips_blocked_seats(
    organizer: User, seated: Event, tiers: dict[str, TicketTier]
) -> None:
    back_row = list(EventSeat.objects.filter(event=seated, row="C").order_by("x"))
    keep = back_row[0]
    event_seats_block(
        user=organizer,
        event=seated,
        seat_ids=[s.pk for s in back_row[1:]],
        blocked=True,
        reason="sound desk",
    )

    order = order_reserve_seats(
        buyer=UserFactory.create(),
        event_id=seated.pk,
        idempotency_key=uuid.uuid4().hex,
        best_available=(tiers["back"].pk, 1),
    )

    assert list(EventSeat.objects.filter(order=order).values_list("pk", flat=True)) == [keep.pk]
    with pytest.raises(Exception, match="left") as caught:
        order_reserve_seats(
            buyer=UserFactory.create(),
            event_id=seated.pk,
            idempotency_key=uuid.uuid4().hex,
            best_available=(tiers["back"].pk, 1),
        )
    assert caught.value.code == "SOLD_OUT"  # type: ignore[attr-defined]
    assert not EventSeat.objects.filter(blocked=True).exclude(order=None).exists()
