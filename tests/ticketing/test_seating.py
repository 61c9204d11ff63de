"""Assigned seating: all-or-nothing seat holds, no seat sold twice, best available, blocks."""

import functools
import itertools
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Membership
from tests.factories import UserFactory
from tests.ticketing.racing import run_together, tally
from tests.ticketing.seated import seat, seated_event
from ticketing.booking import hotpath
from ticketing.booking.services import order_pay
from ticketing.errors import SeatTaken, SoldOut, UnknownSeat
from ticketing.models import EventSeat, Order, Ticket
from ticketing.seating.services import SeatBlock, event_seats_block, order_reserve_seats

ONE_ROW = SeatBlock(section="Stalls", rows=1, seats_per_row=51, zone="A")


@pytest.fixture(autouse=True, params=[True, False], ids=["hot-path-on", "hot-path-off"])
def hot_path(
    request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> bool:
    settings.BOXOFFICE_HOT_PATH = request.param
    if not request.param:  # off means off: the accelerator is never asked
        for step in ("seats_place", "order_place", "payment_start", "payment_finish"):
            monkeypatch.setattr(hotpath, step, _must_not_run)
    return bool(request.param)


def _must_not_run(**kwargs: Any) -> None:
    raise AssertionError("the hot path ran while switched off")


def _count_hot_places(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    placed: list[Any] = []
    real = hotpath.seats_place

    def counting(**kwargs: Any) -> Any:
        result = real(**kwargs)
        placed.append(result)
        return result

    monkeypatch.setattr(hotpath, "seats_place", counting)
    return placed


@pytest.mark.django_db
def test_the_hot_path_holds_plain_chosen_and_best_seats_when_on(
    hot_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=6, zone="A"))
    placed = _count_hot_places(monkeypatch) if hot_path else []
    a1, a2 = seat(event, "Stalls A-1"), seat(event, "Stalls A-2")

    chosen = hold(UserFactory.create(), event, [a2.pk, a1.pk])
    one = best(UserFactory.create(), event, tiers["A"], 1)

    assert sorted(chosen.seat_ids) == sorted([a1.pk, a2.pk])
    assert {s.pk for s in seats_of(chosen)} == {a1.pk, a2.pk}
    assert chosen.total == 2 * tiers["A"].price
    assert chosen.lines.get().quantity == 2
    [best_seat] = seats_of(one)
    assert best_seat.pk not in (a1.pk, a2.pk)
    tiers["A"].refresh_from_db()
    assert tiers["A"].sold_count == 3
    if hot_path:
        assert len(placed) == 2 and all(p is not None for p in placed)


@pytest.mark.django_db
def test_the_hot_path_leaves_a_taken_seat_to_the_reference_path(
    hot_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    event, _ = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=4, zone="A"))
    a1, a2 = seat(event, "Stalls A-1"), seat(event, "Stalls A-2")
    hold(UserFactory.create(), event, [a2.pk])
    placed = _count_hot_places(monkeypatch) if hot_path else []

    with pytest.raises(SeatTaken):
        hold(UserFactory.create(), event, [a1.pk, a2.pk])

    if hot_path:
        assert placed == [None]  # it did nothing; the reference path named the seat
    a1.refresh_from_db()
    assert a1.order_id is None


def hold(buyer: Any, event: Any, seat_ids: list[Any]) -> Order:
    return order_reserve_seats(
        buyer=buyer, event_id=event.pk, seat_ids=seat_ids, idempotency_key=uuid.uuid4().hex
    )


def best(buyer: Any, event: Any, tier: Any, quantity: int) -> Order:
    return order_reserve_seats(
        buyer=buyer,
        event_id=event.pk,
        best_available=(tier.pk, quantity),
        idempotency_key=uuid.uuid4().hex,
    )


def seats_of(order: Order) -> list[EventSeat]:
    return list(EventSeat.objects.filter(order=order).order_by("x"))


def adjacent(seats: list[EventSeat]) -> bool:
    rows = {(s.section, s.row) for s in seats}
    xs = sorted(s.x for s in seats)
    return len(rows) == 1 and xs == list(range(xs[0], xs[0] + len(xs)))


# --- Races -----------------------------------------------------------------------------------


def _overlapping_pair_rush() -> tuple[list[Any], list[Order]]:
    event, _ = seated_event(ONE_ROW)
    row = list(EventSeat.objects.filter(event=event).order_by("x"))
    buyers = UserFactory.create_batch(50)
    # Buyer i wants seats i and i+1: every seat but the ends is wanted by two buyers.
    calls = [
        functools.partial(hold, buyer, event, [row[i].pk, row[i + 1].pk])
        for i, buyer in enumerate(buyers)
    ]
    results = run_together(calls)
    return results, list(Order.objects.filter(event=event, status=Order.Status.PENDING))


@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_holding_overlapping_pairs_never_share_a_seat() -> None:
    results, orders = _overlapping_pair_rush()

    outcomes = tally(results)
    assert set(outcomes) <= {"ok", "SeatTaken"}, outcomes
    assert outcomes["ok"] == len(orders) >= 17  # at least every third pair fits
    claimed = Counter(seat_id for order in orders for seat_id in order.seat_ids)
    assert max(claimed.values()) == 1, "a seat is in two live orders"
    for order in orders:  # every successful hold got both of its seats
        assert len(order.seat_ids) == 2
        assert {s.pk for s in seats_of(order)} == set(order.seat_ids)
    tier = orders[0].lines.get().tier
    tier.refresh_from_db()
    assert tier.sold_count == 2 * len(orders)


@pytest.mark.django_db(transaction=True)
def test_negative_control_without_seat_locks_the_pair_rush_sells_a_seat_twice(settings) -> None:
    settings.BOXOFFICE_TEST_SWITCHES = {"seats_unlocked": True}

    _, orders = _overlapping_pair_rush()

    claimed = Counter(seat_id for order in orders for seat_id in order.seat_ids)
    assert max(claimed.values()) > 1, "the unlocked rush did not double-sell: the test is blind"


# --- All or nothing ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_holding_a1_a2_when_a2_is_taken_fails_as_a_whole() -> None:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=4, zone="A"))
    a1, a2 = seat(event, "Stalls A-1"), seat(event, "Stalls A-2")
    hold(UserFactory.create(), event, [a2.pk])

    with pytest.raises(SeatTaken) as taken:
        hold(UserFactory.create(), event, [a1.pk, a2.pk])

    assert taken.value.details["taken"] == [{"id": str(a2.pk), "label": "Stalls A-2"}]
    assert "Stalls A-2" in taken.value.detail_message
    a1.refresh_from_db()
    assert a1.order_id is None
    tiers["A"].refresh_from_db()
    assert tiers["A"].sold_count == 1
    assert Order.objects.filter(event=event).count() == 1


@pytest.mark.django_db
def test_a_seat_of_another_event_or_a_made_up_one_is_unknown() -> None:
    event, _ = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=2, zone="A"))
    other, _ = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=2, zone="A"))

    with pytest.raises(UnknownSeat):
        hold(UserFactory.create(), event, [seat(other, "Stalls A-1").pk])
    with pytest.raises(UnknownSeat):
        hold(UserFactory.create(), event, ["not-a-seat"])


@pytest.mark.django_db
def test_an_expired_seat_hold_is_released_and_someone_else_can_hold_the_seat() -> None:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=2, zone="A"))
    a1 = seat(event, "Stalls A-1")
    first = hold(UserFactory.create(), event, [a1.pk])
    Order.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    second = hold(UserFactory.create(), event, [a1.pk])

    a1.refresh_from_db()
    assert a1.order_id == second.pk
    first.refresh_from_db()
    assert first.status == Order.Status.EXPIRED
    tiers["A"].refresh_from_db()
    assert tiers["A"].sold_count == 1


@pytest.mark.django_db
def test_paying_a_seated_order_issues_one_ticket_per_seat_with_its_seat() -> None:
    event, _ = seated_event(SeatBlock(section="Balcony", rows=3, seats_per_row=4, zone="A"))
    buyer = UserFactory.create()
    chosen = [seat(event, "Balcony C-1"), seat(event, "Balcony C-2")]
    order = hold(buyer, event, [s.pk for s in chosen])

    outcome = order_pay(buyer=buyer, order_id=order.pk, idempotency_key="pay")

    assert outcome.paid
    tickets = Ticket.objects.filter(order=order).select_related("seat")
    assert sorted(t.seat.label for t in tickets if t.seat) == ["Balcony C-1", "Balcony C-2"]


@pytest.mark.django_db
def test_a_paying_order_whose_hold_lapsed_gets_its_same_seats_back_if_still_free() -> None:
    event, _ = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=3, zone="A"))
    buyer = UserFactory.create()
    a1 = seat(event, "Stalls A-1")
    order = hold(buyer, event, [a1.pk])
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    from ticketing.errors import HoldExpired

    with pytest.raises(HoldExpired) as lapsed:
        order_pay(buyer=buyer, order_id=order.pk, idempotency_key="late")
    assert lapsed.value.details["rereserved"] is True
    a1.refresh_from_db()
    assert a1.order_id == order.pk
    outcome = order_pay(buyer=buyer, order_id=order.pk, idempotency_key="again")
    assert [t.seat_id for t in outcome.tickets] == [a1.pk]


# --- Best available ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_best_available_returns_adjacent_seats_in_the_best_row() -> None:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=5, seats_per_row=10, zone="A"))

    order = best(UserFactory.create(), event, tiers["A"], 3)

    seats = seats_of(order)
    assert adjacent(seats)
    assert {s.row for s in seats} == {"A"}  # the front row
    assert {s.number for s in seats} <= {"4", "5", "6", "7"}  # and its middle


@pytest.mark.django_db
def test_best_available_never_splits_a_pair_across_an_aisle_when_a_block_exists() -> None:
    # One row, aisle after seat 3: the two best single seats (3 and 4) face each other
    # across the aisle, and a pair must not be put there while 2+3 or 4+5 is free.
    event, tiers = seated_event(
        SeatBlock(section="Stalls", rows=1, seats_per_row=6, zone="A", aisles_after=(3,))
    )

    orders = [best(UserFactory.create(), event, tiers["A"], 2) for _ in range(2)]

    for order in orders:
        assert adjacent(seats_of(order)), [s.label for s in seats_of(order)]
    assert {s.number for s in seats_of(orders[0])} in ({"2", "3"}, {"4", "5"})
    assert {s.number for o in orders for s in seats_of(o)} == {"2", "3", "4", "5"}


@pytest.mark.django_db
def test_best_available_splits_across_the_aisle_only_when_no_block_is_left() -> None:
    event, tiers = seated_event(
        SeatBlock(section="Stalls", rows=1, seats_per_row=4, zone="A", aisles_after=(2,))
    )
    hold(UserFactory.create(), event, [seat(event, "Stalls A-1").pk, seat(event, "Stalls A-4").pk])

    order = best(UserFactory.create(), event, tiers["A"], 2)

    assert {s.number for s in seats_of(order)} == {"2", "3"}
    with pytest.raises(SoldOut):
        best(UserFactory.create(), event, tiers["A"], 1)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_best_available_buyers_get_distinct_adjacent_pairs() -> None:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=4, seats_per_row=12, zone="A"))
    buyers = UserFactory.create_batch(20)

    results = run_together([functools.partial(best, b, event, tiers["A"], 2) for b in buyers])

    assert tally(results) == {"ok": 20}, tally(results)
    pairs = [seats_of(order) for order in results]
    assert all(adjacent(pair) for pair in pairs)
    all_seats = [s.pk for s in itertools.chain.from_iterable(pairs)]
    assert len(all_seats) == len(set(all_seats)) == 40


def _single_seat_rush() -> tuple[list[Any], list[Order]]:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=2, seats_per_row=10, zone="A"))
    buyers = UserFactory.create_batch(30)
    results = run_together([functools.partial(best, b, event, tiers["A"], 1) for b in buyers])
    return results, list(Order.objects.filter(event=event, status=Order.Status.PENDING))


@pytest.mark.django_db(transaction=True)
def test_thirty_buyers_of_one_best_seat_each_fill_twenty_seats_once() -> None:
    results, orders = _single_seat_rush()

    assert tally(results) == {"ok": 20, "SoldOut": 10}, tally(results)
    claimed = Counter(seat_id for order in orders for seat_id in order.seat_ids)
    assert len(claimed) == 20 and max(claimed.values()) == 1, "a seat is in two live orders"
    assert EventSeat.objects.filter(order__in=orders).count() == 20
    tier = orders[0].lines.get().tier
    tier.refresh_from_db()
    assert tier.sold_count == tier.capacity == 20


@pytest.mark.django_db(transaction=True)
def test_negative_control_the_hot_best_seat_without_its_lock_sells_a_seat_twice(
    hot_path: bool, settings: Any
) -> None:
    if not hot_path:
        pytest.skip("the reference path picks best seats under a lock the switch does not drop")
    settings.BOXOFFICE_TEST_SWITCHES = {"seats_unlocked": True}

    _, orders = _single_seat_rush()

    claimed = Counter(seat_id for order in orders for seat_id in order.seat_ids)
    assert max(claimed.values()) > 1, "the unlocked rush did not double-sell: the test is blind"


# --- Blocked seats ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_blocked_seats_are_never_sold_and_come_back_when_released() -> None:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=3, zone="A"))
    owner = Membership.objects.get(organization=event.organization).user
    a2 = seat(event, "Stalls A-2")

    assert event_seats_block(user=owner, event=event, seat_ids=[a2.pk], blocked=True) == 1
    tiers["A"].refresh_from_db()
    assert tiers["A"].capacity == 2

    with pytest.raises(SeatTaken):
        hold(UserFactory.create(), event, [a2.pk])
    sold = [best(UserFactory.create(), event, tiers["A"], 1) for _ in range(2)]
    assert a2.pk not in {seat_id for order in sold for seat_id in order.seat_ids}
    with pytest.raises(SoldOut):
        best(UserFactory.create(), event, tiers["A"], 1)

    event_seats_block(user=owner, event=event, seat_ids=[a2.pk], blocked=False)
    tiers["A"].refresh_from_db()
    assert tiers["A"].capacity == 3
    assert hold(UserFactory.create(), event, [a2.pk]).seat_ids == [a2.pk]


@pytest.mark.django_db
def test_a_seated_ticket_carries_its_seat_signed_in_the_qr_and_the_door_shows_it() -> None:
    from checkin.services import checkin_list_default, ticket_scan
    from checkin.signing import payload_verify
    from core.qr import qr_png
    from tests.qr import qr_texts

    event, _ = seated_event(SeatBlock(section="Balcony", rows=3, seats_per_row=14, zone="A"))
    buyer = UserFactory.create()
    order = hold(buyer, event, [seat(event, "Balcony C-14").pk])
    (ticket,) = order_pay(buyer=buyer, order_id=order.pk, idempotency_key="p").tickets

    (decoded,) = qr_texts(qr_png(ticket.qr_payload))
    assert payload_verify(decoded).seat == "Balcony C-14"
    door = Membership.objects.get(organization=event.organization).user
    result = ticket_scan(
        payload=decoded,
        checkin_list=checkin_list_default(event),
        scanned_by=door,
        device_id="gate-1",
    )
    assert result.valid and result.seat == "Balcony C-14"


@pytest.mark.django_db
def test_the_confirmation_email_names_each_seat() -> None:
    from notifications.content import render
    from notifications.models import Message

    event, _ = seated_event(SeatBlock(section="Balcony", rows=3, seats_per_row=4, zone="A"))
    buyer = UserFactory.create()
    order = hold(buyer, event, [seat(event, "Balcony B-1").pk, seat(event, "Balcony B-2").pk])
    order_pay(buyer=buyer, order_id=order.pk, idempotency_key="p")

    email = render(Message.objects.get(dedupe_key=f"order.confirmed:{order.pk}"), buyer)

    assert "seat Balcony B-1" in email.text and "seat Balcony B-2" in email.text
    assert "<strong>Balcony B-1</strong>" in email.html


# --- After the sale: refunds, the waitlist and transfers, seat by seat ------------------------


def _paid_seat(event: Any, label: str) -> tuple[Any, Ticket]:
    buyer = UserFactory.create()
    order = hold(buyer, event, [seat(event, label).pk])
    (ticket,) = order_pay(buyer=buyer, order_id=order.pk, idempotency_key="p").tickets
    return buyer, ticket


@pytest.mark.django_db
def test_refunding_a_seated_ticket_puts_that_seat_back_on_sale() -> None:
    from ticketing.aftersale.refunds import order_refund

    event, _ = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=3, zone="A"))
    buyer, ticket = _paid_seat(event, "Stalls A-2")

    order_refund(actor=buyer, order_id=ticket.order_id, idempotency_key="r")

    a2 = seat(event, "Stalls A-2")
    assert a2.order_id is None and not a2.blocked
    assert hold(UserFactory.create(), event, [a2.pk]).seat_ids == [a2.pk]


@pytest.mark.django_db
def test_a_refunded_seat_is_held_for_the_waitlist_and_offered_as_that_seat() -> None:
    from ticketing.aftersale.refunds import order_refund
    from waitlist.models import Offer
    from waitlist.services import waitlist_join, waitlist_promote

    event, tiers = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=2, zone="A"))
    buyer, ticket = _paid_seat(event, "Stalls A-1")
    _paid_seat(event, "Stalls A-2")  # sold out now
    waiting = UserFactory.create()
    waitlist_join(user=waiting, event=event, tier_id=tiers["A"].pk)

    order_refund(actor=buyer, order_id=ticket.order_id, idempotency_key="r")
    a1 = seat(event, "Stalls A-1")
    assert a1.blocked and a1.block_reason == EventSeat.WAITLIST_BLOCK  # not on public sale
    with pytest.raises(SeatTaken):
        hold(UserFactory.create(), event, [a1.pk])

    waitlist_promote(event_id=event.pk)

    offer = Offer.objects.get(entry__user=waiting)
    a1.refresh_from_db()
    assert not a1.blocked and a1.order_id == offer.order_id
    assert Order.objects.get(pk=offer.order_id).seat_ids == [a1.pk]


@pytest.mark.django_db
def test_a_transferred_seated_ticket_keeps_its_seat_under_a_new_qr() -> None:
    from checkin.signing import payload_verify
    from ticketing.aftersale.transfers import ticket_transfer_accept, ticket_transfer_send

    event, _ = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=2, zone="A"))
    buyer, ticket = _paid_seat(event, "Stalls A-2")
    friend = UserFactory.create()
    transfer = ticket_transfer_send(sender=buyer, ticket_id=ticket.pk, to_email=friend.email)

    new = ticket_transfer_accept(recipient=friend, token=transfer.token)

    assert new.seat_id == ticket.seat_id and new.qr_payload != ticket.qr_payload
    assert payload_verify(new.qr_payload).seat == "Stalls A-2"


@pytest.mark.django_db
def test_a_seated_tier_capacity_cannot_be_edited_away_from_its_seats() -> None:
    from events.errors import InvalidEvent
    from events.services import TierSpec, event_update

    event, tiers = seated_event(SeatBlock(section="Stalls", rows=1, seats_per_row=4, zone="A"))
    owner = Membership.objects.get(organization=event.organization).user
    tier = tiers["A"]
    spec = TierSpec(id=tier.pk, name=tier.name, price=tier.price, capacity=10, max_per_order=10)

    with pytest.raises(InvalidEvent, match="sells assigned seats"):
        event_update(actor=owner, event=event, tiers=[spec])

    tier.refresh_from_db()
    assert tier.capacity == 4
