"""A hundred orders of one organizer are paid at the same moment: their invoice numbers are
1..100, each once. The negative control takes numbers without the counter's row lock
(the `invoice_counter_unlocked` test switch) and must end with a duplicate, a gap or a failure."""

import threading
import uuid
from functools import partial
from typing import Any

import pytest

from accounts.audit import lane_of
from accounts.models import Organization
from invoicing.models import Document, DocumentCounter
from tests.factories import EventFactory, OrganizationFactory, TicketTierFactory, UserFactory
from tests.invoicing.conftest import invoicing_on
from tests.ticketing.racing import run_together
from ticketing.booking.services import PaymentOutcome, order_pay, order_reserve
from ticketing.models import Order

ORDERS = 100
CONTROL_ORDERS = 8


def organizer_invoicing() -> Organization:
    organization = OrganizationFactory.create()
    invoicing_on(organization)
    return organization


def pay_all_at_once(
    organization: Organization, orders: int, *, apart_in_the_audit: bool = False
) -> tuple[list[Any], list[int]]:
    """Hold `orders` orders of one event, then pay them all at once.

    `apart_in_the_audit`: only orders whose payments go to different lanes of the audit chain,
    which each payment locks before it takes its invoice number. Two payers in one lane would
    otherwise meet there first, and a pause between reading and writing the number would hold
    the second payer out of the race it stages (until the pause gives up)."""
    tier = TicketTierFactory.create(
        event=EventFactory.create(organization=organization), capacity=8 * orders
    )
    held: list[tuple[Any, Any]] = []
    lanes: set[int] = set()
    while len(held) < orders:
        buyer = UserFactory.create()
        order = order_reserve(
            buyer=buyer, event_id=tier.event_id, items=[(tier.pk, 1)], idempotency_key="r"
        )
        lane = lane_of(f"ticketing.order:{order.pk}")
        if apart_in_the_audit and lane in lanes:
            continue  # stays held and unpaid: it takes no invoice number
        lanes.add(lane)
        held.append((buyer, order.pk))
    results = run_together(
        [
            partial(order_pay, buyer=buyer, order_id=order_id, idempotency_key=uuid.uuid4().hex)
            for buyer, order_id in held
        ]
    )
    numbers = list(
        Document.objects.filter(organization=organization, kind="invoice").values_list(
            "number", flat=True
        )
    )
    return results, numbers


@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_of_concurrent_payments_are_gap_free_and_unique() -> None:
    organization = organizer_invoicing()
    results, numbers = pay_all_at_once(organization, ORDERS)
    failures = [r for r in results if not isinstance(r, PaymentOutcome)]
    assert not failures, failures[:3]
    assert Order.objects.filter(event__organization=organization, status="paid").count() == ORDERS
    assert sorted(numbers) == list(range(1, ORDERS + 1))
    # Every paid order has exactly one invoice.
    assert (
        Document.objects.filter(kind="invoice", order__status="paid").values("order").distinct()
    ).count() == ORDERS


class EveryoneReadsFirst:
    """The control's pause between reading the counter and writing it: each payer's first read
    waits at a barrier until all payers have read, so the race happens on every run, however
    busy the machine is (a timed sleep only makes it likely)."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties)
        self.first_reads: list[int] = []
        self.local = threading.local()

    def __call__(self, last_number: int) -> None:
        if getattr(self.local, "waited", False):
            return  # a retry of the same payer: the race has been staged already
        self.local.waited = True
        self.first_reads.append(last_number)
        self.barrier.wait(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_counter_lock_numbers_collide(settings) -> None:
    organization = organizer_invoicing()
    # The counter row exists beforehand: a first INSERT of it would make the other payers wait
    # for the inserter's commit, which is the lock this control takes away.
    DocumentCounter.objects.create(organization=organization, kind="invoice")
    pause = EveryoneReadsFirst(CONTROL_ORDERS)
    settings.BOXOFFICE_TEST_SWITCHES = {"invoice_counter_unlocked": pause}

    results, numbers = pay_all_at_once(organization, CONTROL_ORDERS, apart_in_the_audit=True)

    # Staged: every payer read the same last number before any of them wrote one, and the
    # pause released them together (a payer held elsewhere would have broken it).
    assert pause.first_reads == [0] * CONTROL_ORDERS
    broken = [r for r in results if isinstance(r, threading.BrokenBarrierError)]
    assert not broken, f"{len(broken)} payers gave up waiting: the race was not staged"
    all_paid = all(isinstance(r, PaymentOutcome) for r in results)
    gap_free = sorted(numbers) == list(range(1, CONTROL_ORDERS + 1))
    assert not (all_paid and gap_free), "the race did not show: the test could not catch one"
