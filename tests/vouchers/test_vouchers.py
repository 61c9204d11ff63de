"""Voucher codes through the booking API and the organizer's page."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, User
from events.models import TicketTier
from tests.api.conftest import Api
from tests.factories import TicketTierFactory, UserFactory
from ticketing.booking.services import order_pay, order_reserve, orders_release_expired
from ticketing.errors import HoldExpired, IdempotencyKeyReused, PaymentDeclined
from ticketing.models import Order
from vouchers.errors import VoucherExhausted, VoucherInvalid
from vouchers.models import Voucher, VoucherRedemption
from vouchers.services import voucher_unit_price

pytestmark = pytest.mark.django_db


def reserve_one(buyer: User, tier: TicketTier, idempotency_key: str, voucher: str) -> Order:
    return order_reserve(
        buyer=buyer,
        event_id=tier.event_id,
        items=[(tier.pk, 1)],
        idempotency_key=idempotency_key,
        voucher=voucher,
    )


def code(tier: TicketTier, name: str = "SPRING", **fields: object) -> Voucher:
    values: dict[str, object] = {"kind": "percent", "value": Decimal("25"), "max_uses": 5}
    values.update(fields)
    return Voucher.objects.create(event=tier.event, code=name, **values)


def register(api: Api, tier: TicketTier, quantity: int = 2, voucher: str | None = None) -> Any:
    body: dict[str, object] = {
        "tier_id": str(tier.pk),
        "quantity": quantity,
        "idempotency_key": f"k-{quantity}-{voucher}",
    }
    if voucher is not None:
        body["voucher"] = voucher
    return api.post(f"/events/{tier.event_id}/register", body)


def test_a_percentage_code_prices_the_order_and_counts_one_use(
    as_attendee: Api, tier: TicketTier
) -> None:
    tier.price = Decimal("40.00")
    tier.save()
    voucher = code(tier)
    response = register(as_attendee, tier, 2, " spring ")  # typed loosely
    assert response.status_code == 201, response.content
    body = response.json()
    assert Decimal(body["total"]) == Decimal("60.00")
    order = Order.objects.get(pk=body["order_id"])
    assert order.lines.get().unit_price == Decimal("30.00")
    assert order.voucher_redemption.discount == Decimal("20.00")
    voucher.refresh_from_db()
    assert voucher.used == 1


def test_an_amount_off_is_per_ticket_and_never_below_zero(tier: TicketTier) -> None:
    amount = Voucher(kind="amount", value=Decimal("15"))
    assert voucher_unit_price(amount, Decimal("40.00")) == Decimal("25.00")
    assert voucher_unit_price(amount, Decimal("10.00")) == Decimal("0.00")
    third = Voucher(kind="percent", value=Decimal("33.33"))
    assert voucher_unit_price(third, Decimal("10.00")) == Decimal("6.67")


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({}, 422, "VOUCHER_INVALID"),  # no such code (the code below is another one)
        ({"valid_until": timezone.now() - timedelta(hours=1)}, 409, "VOUCHER_EXPIRED"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, 422, "VOUCHER_INVALID"),
        ({"max_uses": 1, "used": 1}, 409, "VOUCHER_EXHAUSTED"),
    ],
)
def test_unusable_codes_are_refused_with_a_stable_error_code(
    as_attendee: Api, tier: TicketTier, fields: dict, status: int, error: str
) -> None:
    used = fields.pop("used", 0)
    voucher = code(tier, "OTHER" if not fields and not used else "SPRING", **fields)
    Voucher.objects.filter(pk=voucher.pk).update(used=used)
    response = register(as_attendee, tier, 1, "SPRING")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == error
    assert not Order.objects.exists()
    assert TicketTier.objects.get(pk=tier.pk).sold_count == 0  # nothing held on the way


def test_a_code_for_another_tier_is_refused(as_attendee: Api, tier: TicketTier) -> None:
    other = TicketTierFactory.create(event=tier.event)
    voucher = code(tier)
    voucher.tiers.set([other])
    response = register(as_attendee, tier, 1, "SPRING")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VOUCHER_INVALID"


def test_a_hidden_tier_is_sold_only_with_a_code_that_names_it(
    as_attendee: Api, tier: TicketTier
) -> None:
    hidden = TicketTierFactory.create(event=tier.event, requires_voucher=True, price=Decimal("80"))
    # Without a code: neither the single-statement path nor the reference path sells it.
    refused = register(as_attendee, hidden, 1)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "VOUCHER_INVALID"
    code(tier, "PUBLIC")  # a code for public tiers does not open it either
    assert register(as_attendee, hidden, 1, "PUBLIC").status_code == 422
    unlock = code(tier, "BACKSTAGE", value=Decimal("0"))
    unlock.tiers.set([hidden])
    response = register(as_attendee, hidden, 1, "BACKSTAGE")
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["total"]) == Decimal("80.00")


def test_the_per_buyer_limit_holds_for_each_buyer(attendee: User, tier: TicketTier) -> None:
    code(tier, per_buyer_limit=1)
    reserve_one(attendee, tier, "a", "SPRING")
    with pytest.raises(VoucherExhausted):
        reserve_one(attendee, tier, "b", "SPRING")
    reserve_one(UserFactory.create(), tier, "c", "SPRING")


def test_a_lapsed_hold_gives_the_use_back_and_paying_late_takes_it_again(
    attendee: User, tier: TicketTier
) -> None:
    voucher = code(tier, max_uses=1)
    order = reserve_one(attendee, tier, "a", "SPRING")
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert orders_release_expired(event_id=tier.event_id) == 1
    voucher.refresh_from_db()
    assert voucher.used == 0
    assert VoucherRedemption.objects.get(order=order).released_at is not None
    # Paying late holds the order again, at its discounted price, with the code counted again.
    with pytest.raises(HoldExpired) as lapsed:
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p1")
    assert lapsed.value.details["rereserved"] is True
    voucher.refresh_from_db()
    assert voucher.used == 1
    outcome = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p2")
    assert outcome.paid and outcome.order.total == order.total


def test_a_lapsed_order_whose_code_was_taken_meanwhile_is_not_held_again(
    attendee: User, tier: TicketTier
) -> None:
    voucher = code(tier, max_uses=1)
    order = reserve_one(attendee, tier, "a", "SPRING")
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    orders_release_expired(event_id=tier.event_id)
    reserve_one(UserFactory.create(), tier, "b", "SPRING")
    with pytest.raises(HoldExpired) as lapsed:
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p1")
    assert lapsed.value.details["rereserved"] is False
    voucher.refresh_from_db()
    assert voucher.used == 1  # the other buyer's use only


def test_a_declined_payment_gives_the_use_back(attendee: User, tier: TicketTier) -> None:
    voucher = code(tier, max_uses=1)
    order = reserve_one(attendee, tier, "a", "SPRING")
    with pytest.raises(PaymentDeclined):
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p", source="4000000000000002")
    voucher.refresh_from_db()
    assert voucher.used == 0


def test_the_same_request_with_another_code_is_a_reused_key(
    attendee: User, tier: TicketTier
) -> None:
    code(tier)
    code(tier, "OTHER")
    reserve_one(attendee, tier, "a", "SPRING")
    with pytest.raises(IdempotencyKeyReused):
        reserve_one(attendee, tier, "a", "OTHER")


def test_the_organizer_creates_one_code_or_a_batch_and_sees_the_figures(
    client: Client, organizer: User, tier: TicketTier, attendee: User
) -> None:
    client.force_login(organizer)
    url = f"/manage/events/{tier.event_id}/vouchers/"
    base = {"kind": "percent", "value": "10", "max_uses": "3", "count": "1"}
    assert client.post(url, base | {"code": "press 2026"}).status_code == 302
    assert Voucher.objects.get(event=tier.event).code == "PRESS2026"
    assert client.post(url, base | {"count": "25", "batch_prefix": "VIP-"}).status_code == 302
    batch = Voucher.objects.filter(event=tier.event, batch="VIP-")
    assert batch.count() == 25
    assert len({v.code for v in batch}) == 25 and all(v.code.startswith("VIP-") for v in batch)
    assert AuditEntry.objects.filter(action="voucher.create").count() == 2
    refused = client.post(url, base | {"code": "PRESS2026"})
    assert refused.status_code == 422  # taken
    assert client.post(url, base | {"value": "120"}).status_code == 422
    order = order_reserve(
        buyer=attendee,
        event_id=tier.event_id,
        items=[(tier.pk, 2)],
        idempotency_key="a",
        voucher="press2026",
    )
    order_pay(buyer=attendee, order_id=order.pk, idempotency_key="p")
    page = client.get(url)
    assert page.status_code == 200
    figures = page.context["figures"]
    assert (figures.used, figures.paid_orders) == (1, 1)
    assert figures.discount_paid == (tier.price * 2 * Decimal("0.10")).quantize(Decimal("0.01"))
    csv = client.get(f"/manage/events/{tier.event_id}/vouchers.csv")
    assert b"PRESS2026" in csv.content and csv.content.count(b",VIP-,") == 25


def test_another_organizers_voucher_page_is_a_404(client: Client, tier: TicketTier) -> None:
    client.force_login(UserFactory.create())
    assert client.get(f"/manage/events/{tier.event_id}/vouchers/").status_code == 404


def test_a_code_of_another_event_is_unknown_here(attendee: User, tier: TicketTier) -> None:
    code(TicketTierFactory.create(), "ELSEWHERE")
    with pytest.raises(VoucherInvalid):
        reserve_one(attendee, tier, "a", "ELSEWHERE")
