"""Fifty buyers redeem a code with one use left at the same moment: exactly one order gets it.

The negative control checks and counts without the conditional UPDATE
(the `voucher_unlocked` test switch, see vouchers.services._claim_use) and must let the last use
be spent more than once, which shows the race test can catch it.
"""

import uuid
from collections import Counter
from decimal import Decimal
from functools import partial

import pytest

from tests.factories import TicketTierFactory, UserFactory
from tests.ticketing.racing import run_together
from ticketing.booking.services import order_reserve
from ticketing.models import Order
from vouchers.errors import VoucherExhausted
from vouchers.models import Voucher, VoucherRedemption

BUYERS = 50


def redeem_last_use_together() -> tuple[Voucher, Counter[str]]:
    tier = TicketTierFactory.create(capacity=BUYERS, price=Decimal("40.00"))
    voucher = Voucher.objects.create(
        event=tier.event, code="LASTONE", kind="percent", value=Decimal("50"), max_uses=10
    )
    Voucher.objects.filter(pk=voucher.pk).update(used=9)  # one use left
    results = run_together(
        [
            partial(
                order_reserve,
                buyer=buyer,
                event_id=tier.event_id,
                items=[(tier.pk, 1)],
                idempotency_key=uuid.uuid4().hex,
                voucher="lastone",
            )
            for buyer in UserFactory.create_batch(BUYERS)
        ]
    )
    outcomes: Counter[str] = Counter(
        "order"
        if isinstance(r, Order)
        else "exhausted"
        if isinstance(r, VoucherExhausted)
        else f"unexpected {r!r}"
        for r in results
    )
    voucher.refresh_from_db()
    return voucher, outcomes


@pytest.mark.django_db(transaction=True)
def test_the_last_use_of_a_code_is_spent_exactly_once() -> None:
    voucher, outcomes = redeem_last_use_together()
    assert outcomes == Counter({"order": 1, "exhausted": BUYERS - 1}), outcomes
    assert voucher.used == 10
    assert VoucherRedemption.objects.filter(voucher=voucher, released_at=None).count() == 1
    [order] = Order.objects.filter(voucher_redemption__voucher=voucher)
    assert order.total == Decimal("20.00")
    # No order was placed without the code by a buyer who asked for it.
    assert Order.objects.filter(event=voucher.event).count() == 1


@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_conditional_update_the_last_use_is_spent_twice(
    settings,
) -> None:
    settings.BOXOFFICE_TEST_SWITCHES = {"voucher_unlocked": True}
    voucher, outcomes = redeem_last_use_together()
    spent = VoucherRedemption.objects.filter(voucher=voucher, released_at=None).count()
    assert spent > 1, f"the race did not show ({outcomes}): the test could not catch it"
