"""Vouchers on seat-map orders: the code prices the seats and is counted in the transaction that
holds them, on the seat page, in the API and on the checkout page; a refused code holds nothing."""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import User
from tests.api.conftest import Api
from tests.factories import MembershipFactory, UserFactory
from tests.ticketing.seated import seat, seated_event
from ticketing.models import EventSeat, Order
from ticketing.seating.services import SeatBlock, order_reserve_seats
from vouchers.errors import VoucherExhausted
from vouchers.models import Voucher, VoucherRedemption
from vouchers.services import VoucherSpec, vouchers_create

pytestmark = pytest.mark.django_db

STALLS = SeatBlock(section="Stalls", rows=2, seats_per_row=4, zone="A")


def seated_with_code(max_uses: int = 1) -> tuple[Voucher, dict[str, EventSeat]]:
    event, _ = seated_event(STALLS, prices={"A": "40.00"})
    owner = MembershipFactory.create(organization=event.organization).user
    [voucher] = vouchers_create(
        actor=owner,
        event=event,
        spec=VoucherSpec(kind="percent", value=Decimal("25"), max_uses=max_uses),
        code="FRONTROW",
    )
    labels = ("Stalls A-1", "Stalls A-2", "Stalls B-1")
    return voucher, {label: seat(event, label) for label in labels}


def test_chosen_seats_are_priced_with_the_code_and_its_use_counted_once(attendee: User) -> None:
    voucher, seats = seated_with_code()
    order = order_reserve_seats(
        buyer=attendee,
        event_id=voucher.event_id,
        seat_ids=[seats["Stalls A-1"].pk, seats["Stalls A-2"].pk],
        idempotency_key="k",
        voucher="frontrow",
    )
    assert order.total == Decimal("60.00")  # two seats at 40.00, 25 % off
    assert VoucherRedemption.objects.get(order=order).discount == Decimal("20.00")
    voucher.refresh_from_db()
    assert voucher.used == 1
    # The same request again is the same order, not a second use.
    again = order_reserve_seats(
        buyer=attendee,
        event_id=voucher.event_id,
        seat_ids=[seats["Stalls A-2"].pk, seats["Stalls A-1"].pk],
        idempotency_key="k",
        voucher="FRONTROW",
    )
    assert again.pk == order.pk
    voucher.refresh_from_db()
    assert voucher.used == 1


def test_a_used_up_code_holds_no_seats(attendee: User) -> None:
    voucher, seats = seated_with_code(max_uses=1)
    order_reserve_seats(
        buyer=UserFactory.create(),
        event_id=voucher.event_id,
        seat_ids=[seats["Stalls B-1"].pk],
        idempotency_key="first",
        voucher="FRONTROW",
    )
    with pytest.raises(VoucherExhausted):
        order_reserve_seats(
            buyer=attendee,
            event_id=voucher.event_id,
            seat_ids=[seats["Stalls A-1"].pk],
            idempotency_key="second",
            voucher="FRONTROW",
        )
    # Refused in the holding transaction: the seat and the tier count are untouched.
    assert EventSeat.objects.get(pk=seats["Stalls A-1"].pk).order_id is None
    assert not Order.objects.filter(buyer=attendee).exists()
    tier = seats["Stalls A-1"].tier
    tier.refresh_from_db()
    assert tier.sold_count == 1


def test_best_available_seats_take_the_code_too(attendee: User) -> None:
    voucher, seats = seated_with_code()
    order = order_reserve_seats(
        buyer=attendee,
        event_id=voucher.event_id,
        best_available=(seats["Stalls A-1"].tier_id, 2),
        idempotency_key="best",
        voucher="FRONTROW",
    )
    assert order.total == Decimal("60.00")
    assert order.seats.count() == 2
    voucher.refresh_from_db()
    assert voucher.used == 1


def test_the_seat_page_takes_a_code_and_checkout_shows_the_discount(
    client: Client, attendee: User
) -> None:
    voucher, seats = seated_with_code()
    client.force_login(attendee)
    response = client.post(
        f"/events/{voucher.event_id}/seats/",
        {
            "idempotency_key": "page",
            "action": "pick",
            "seat": [str(seats["Stalls A-1"].pk)],
            "voucher": "FRONTROW",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get(buyer=attendee)
    assert order.total == Decimal("30.00")
    checkout = client.get(response["Location"]).content.decode()
    assert "Voucher FRONTROW" in checkout and "−10.00 EUR" in checkout

    # A refused code re-renders the seat page with the code and the chosen seat kept.
    refused = client.post(
        f"/events/{voucher.event_id}/seats/",
        {
            "idempotency_key": "page-2",
            "action": "pick",
            "seat": [str(seats["Stalls A-2"].pk)],
            "voucher": "NOSUCHCODE",
        },
    )
    html = refused.content.decode()
    assert refused.status_code == 422
    assert "There is no voucher with this code for this event." in html
    assert 'value="NOSUCHCODE"' in html
    assert Order.objects.filter(buyer=attendee).count() == 1


def test_a_code_applied_at_checkout_prices_a_seated_order(client: Client, attendee: User) -> None:
    voucher, seats = seated_with_code()
    order = order_reserve_seats(
        buyer=attendee,
        event_id=voucher.event_id,
        seat_ids=[seats["Stalls A-1"].pk],
        idempotency_key="k",
    )
    client.force_login(attendee)
    response = client.post(f"/orders/{order.pk}/", {"apply_voucher": "1", "voucher": "frontrow"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.total == Decimal("30.00")
    voucher.refresh_from_db()
    assert voucher.used == 1


def test_the_api_holds_seats_with_a_code(as_attendee: Api) -> None:
    voucher, seats = seated_with_code()
    response = as_attendee.post(
        f"/events/{voucher.event_id}/register",
        {
            "seat_ids": [str(seats["Stalls A-1"].pk)],
            "idempotency_key": "api",
            "voucher": "FRONTROW",
        },
    )
    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["total"]) == Decimal("30.00")
    voucher.refresh_from_db()
    assert voucher.used == 1
