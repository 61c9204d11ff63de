"""A hundred orders of one organizer are paid at the same moment: their invoice numbers are
1..100, each once. The negative control takes numbers without the counter's row lock
(the `invoice_counter_unlocked` test switch) and must end with a duplicate, a gap or a failure."""

import uuid
from functools import partial
from typing import Any

import pytest

from invoicing.models import Document
from tests.factories import EventFactory, OrganizationFactory, TicketTierFactory, UserFactory
from tests.invoicing.conftest import invoicing_on
from tests.ticketing.racing import run_together
from ticketing.booking.services import PaymentOutcome, order_pay, order_reserve
from ticketing.models import Order

ORDERS = 100


def pay_all_at_once() -> tuple[list[Any], list[int], Any]:
    organization = OrganizationFactory.create()
    invoicing_on(organization)
    tier = TicketTierFactory.create(
        event=EventFactory.create(organization=organization), capacity=ORDERS
    )
    orders = []
    for buyer in UserFactory.create_batch(ORDERS):
        order = order_reserve(
            buyer=buyer, event_id=tier.event_id, items=[(tier.pk, 1)], idempotency_key="r"
        )
        orders.append((buyer, order.pk))
    results = run_together(
        [
            partial(order_pay, buyer=buyer, order_id=order_id, idempotency_key=uuid.uuid4().hex)
            for buyer, order_id in orders
        ]
    )
    numbers = list(
        Document.objects.filter(organization=organization, kind="invoice").values_list(
            "number", flat=True
        )
    )
    return results, numbers, organization


@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_of_concurrent_payments_are_gap_free_and_unique() -> None:
    results, numbers, organization = pay_all_at_once()
    failures = [r for r in results if not isinstance(r, PaymentOutcome)]
    assert not failures, failures[:3]
    assert Order.objects.filter(event__organization=organization, status="paid").count() == ORDERS
    assert sorted(numbers) == list(range(1, ORDERS + 1))
    # Every paid order has exactly one invoice.
    assert (
        Document.objects.filter(kind="invoice", order__status="paid").values("order").distinct()
    ).count() == ORDERS


@pytest.mark.xfail(
    reason="the unlocked read-pause-write does not always collide on a loaded 2-core machine: "
    "the control is not yet reliable enough to prove the test can fail",
    strict=False,
)
@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_counter_lock_numbers_collide(settings) -> None:
    settings.BOXOFFICE_TEST_SWITCHES = {"invoice_counter_unlocked": True}
    results, numbers, _ = pay_all_at_once()
    all_paid = all(isinstance(r, PaymentOutcome) for r in results)
    gap_free = sorted(numbers) == list(range(1, ORDERS + 1))
    assert not (all_paid and gap_free), "the race did not show: the test could not catch one"
