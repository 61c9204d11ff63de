"""Promotions racing each other (a redelivered task, beat and a release at once) on real threads.

The negative control switches the locks off (plus a pause between reading the set-aside seats
and taking one): then two runs offer the same seats to the same people, and the database's
UNIQUE(one open offer per entry) or CHECK(set-aside >= 0) has to stop it -- so the test can
see a race when there is one.
"""

from decimal import Decimal
from typing import Any

import pytest

from events.models import Event, TicketTier
from tests.factories import TicketTierFactory, UserFactory, order_paid
from tests.ticketing.racing import run_together, tally
from ticketing.aftersale.refunds import order_refund
from ticketing.models import Order, SetAside
from waitlist.models import Offer
from waitlist.services import waitlist_join, waitlist_promote

pytestmark = pytest.mark.django_db(transaction=True)
RUNS = 6  # modest: the machine's PostgreSQL connections are shared


@pytest.fixture
def three_set_aside(event: Event, monkeypatch: pytest.MonkeyPatch) -> TicketTier:
    """Three released seats set aside for five people waiting, not yet promoted."""
    tier = TicketTierFactory.create(event=event, capacity=3, price=Decimal("10.00"))
    paid = [order_paid(buyer=UserFactory.create(), tier=tier).order for _ in range(3)]
    for person in UserFactory.create_batch(5):
        waitlist_join(user=person, event=event, tier_id=tier.pk)
    monkeypatch.setattr("waitlist.receivers.promote_waitlist.delay", lambda *a, **k: None)
    for order in paid:
        order_refund(actor=order.buyer, order_id=order.pk, idempotency_key=f"r{order.pk}")
    assert SetAside.objects.get(tier=tier).quantity == 3
    return tier


def promote(tier: TicketTier) -> Any:
    return lambda: waitlist_promote(event_id=tier.event_id)


def test_concurrent_promotions_make_exactly_one_offer_per_seat(three_set_aside: TicketTier) -> None:
    results = run_together([promote(three_set_aside)] * RUNS)

    assert tally(results) == {"ok": RUNS}, results
    assert sorted(results) == [0] * (RUNS - 1) + [3]
    assert Offer.objects.count() == 3
    assert Offer.objects.values("entry").distinct().count() == 3
    assert Order.objects.filter(status=Order.Status.PENDING).count() == 3
    assert SetAside.objects.get(tier=three_set_aside).quantity == 0
    three_set_aside.refresh_from_db()
    assert three_set_aside.sold_count == 3


def test_negative_control_without_the_locks_promotions_collide(
    three_set_aside: TicketTier, settings: Any
) -> None:
    settings.BOXOFFICE_TEST_SWITCHES = {"promotion_unlocked": True}

    results = run_together([promote(three_set_aside)] * RUNS)

    outcomes = tally(results)
    offers = Offer.objects.count()
    assert offers > 3 or outcomes["IntegrityError"] > 0 or outcomes["RuntimeError"] > 0, (
        f"the unlocked promotions did not collide: {outcomes}, {offers} offers"
    )
