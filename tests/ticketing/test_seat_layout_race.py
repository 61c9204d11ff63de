"""Organizers adding blocks to one layout at once: each sees the others' seats, so a clash is a
clear SEAT_LAYOUT_INVALID, never a database error. The negative control switches the layout lock
off (test switch "seat_layout_unlocked") and must end in the unique index's IntegrityError."""

from typing import Any

import pytest
from django.db import IntegrityError

from accounts.models import User
from tests.factories import EventFactory, MembershipFactory
from tests.ticketing.racing import run_together
from ticketing.errors import SeatLayoutInvalid
from ticketing.models import MapSeat, SeatMap
from ticketing.seating.services import SeatBlock, seat_map_add_blocks, seat_map_create

EDITORS = 6  # modest: each thread holds a connection of the shared server


def race_for_the_same_labels() -> tuple[SeatMap, list[Any]]:
    organizer: User = MembershipFactory.create().user
    event = EventFactory.create(organization=organizer.organizations.get())
    seat_map = seat_map_create(
        user=organizer,
        venue=event.venue,
        name="Main",
        blocks=[SeatBlock(section="Stalls", rows=20, seats_per_row=40, zone="A")],
    )
    # Every editor adds a "Gallery" block with the same labels, each on rows of its own.
    calls = [
        lambda y=y: seat_map_add_blocks(
            user=organizer,
            seat_map=seat_map,
            blocks=[SeatBlock(section="Gallery", rows=2, seats_per_row=40, zone="B", y=y)],
        )
        for y in range(30, 30 + 3 * EDITORS, 3)
    ]
    return seat_map, run_together(calls)


@pytest.mark.django_db(transaction=True)
def test_editors_adding_clashing_blocks_get_one_block_and_clear_errors() -> None:
    seat_map, outcomes = race_for_the_same_labels()

    assert outcomes.count(80) == 1, outcomes
    others = [o for o in outcomes if o != 80]
    assert all(isinstance(o, SeatLayoutInvalid) for o in others), others
    assert all("Seat labels used twice: Gallery A-1" in str(o) for o in others)
    assert MapSeat.objects.filter(seat_map=seat_map, section="Gallery").count() == 80


@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_layout_lock_the_clash_reaches_the_database(
    settings: Any,
) -> None:
    settings.BOXOFFICE_TEST_SWITCHES = {"seat_layout_unlocked": True}

    seat_map, outcomes = race_for_the_same_labels()

    assert any(isinstance(o, IntegrityError) for o in outcomes), outcomes
    assert MapSeat.objects.filter(seat_map=seat_map, section="Gallery").count() == 80
