"""Paying as a saga: when the processor's answer is lost, the buyer ends with tickets or a
refund -- never neither, and never two charges.

Sandbox cards (ticketing.payments.sandbox): 4000000000000341 charges and then loses the
answer; 4000000000000119 times out without charging. Celery runs tasks inline here, so a
refund queued on commit is sent before the test looks (hence `transaction=True`).
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from events.models import TicketTier
from tests.factories import TicketTierFactory, UserFactory, order_paid, order_reserved
from tests.ticketing.racing import gate_counter, run_together, sold, tally
from ticketing.booking.gate import gate_sync
from ticketing.booking.services import STALE_PAYMENT, order_pay, payments_reconcile
from ticketing.errors import HoldExpired, PaymentInProgress, PaymentPending
from ticketing.models import Order, Payment, SandboxCharge, SandboxRefund, Ticket
from ticketing.payments import ProviderUnavailable
from ticketing.payments.sandbox import LOST_ANSWER_CARD, TIMEOUT_CARD, SandboxProvider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def processor_unreachable_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first lookup of a charge fails too, so the outcome of the charge is truly unknown."""
    real_find_charge = SandboxProvider.find_charge
    calls = 0

    def find_charge(self: SandboxProvider, *, idempotency_key: str) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ProviderUnavailable("sandbox: no answer to the lookup either")
        return real_find_charge(self, idempotency_key=idempotency_key)

    monkeypatch.setattr(SandboxProvider, "find_charge", find_charge)


@pytest.fixture
def unknown_outcome(processor_unreachable_once: None) -> tuple[TicketTier, Order]:
    """A buyer charged for both seats of a tier, with the answer lost; the hold was released."""
    tier = TicketTierFactory.create(capacity=2)
    gate_sync(event_ids=[tier.event_id])
    buyer = UserFactory.create()
    order = order_reserved(buyer=buyer, tier=tier, quantity=2)

    with pytest.raises(PaymentPending) as caught:
        order_pay(buyer=buyer, order_id=order.pk, idempotency_key="pay", source=LOST_ANSWER_CARD)

    assert caught.value.code == "PAYMENT_PENDING"
    assert Payment.objects.get().status == Payment.Status.PENDING
    assert SandboxCharge.objects.get().succeeded  # the money is gone; nobody knows yet
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED  # the hold was released meanwhile
    assert sold(tier) == 0
    assert gate_counter(tier) == 2  # and given back to the gate
    assert Ticket.objects.count() == 0
    return tier, order


def test_a_lost_answer_is_looked_up_at_once_and_the_buyer_gets_tickets_in_the_same_call(
    attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    outcome = order_pay(
        buyer=attendee, order_id=order.pk, idempotency_key="pay", source=LOST_ANSWER_CARD
    )

    assert outcome.paid
    assert {t.pk for t in outcome.tickets} == set(Ticket.objects.values_list("pk", flat=True))
    assert len(outcome.tickets) == 2
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert SandboxCharge.objects.count() == 1
    assert sold(tier) == 2


def test_a_charge_with_unknown_outcome_becomes_tickets_when_reconciled(
    unknown_outcome: tuple[TicketTier, Order],
) -> None:
    tier, order = unknown_outcome

    assert payments_reconcile(older_than=timedelta(0)) == 1

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert Ticket.objects.filter(order=order).count() == 2
    assert sold(tier) == 2
    assert SandboxCharge.objects.count() == 1
    assert SandboxRefund.objects.count() == 0
    assert payments_reconcile(older_than=timedelta(0)) == 0  # nothing left to settle


def test_a_charge_with_unknown_outcome_is_refunded_when_its_seats_were_sold_meanwhile(
    unknown_outcome: tuple[TicketTier, Order],
) -> None:
    tier, order = unknown_outcome
    rival = order_paid(buyer=UserFactory.create(), tier=tier, quantity=2)

    assert payments_reconcile(older_than=timedelta(0)) == 1

    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.REFUNDED
    refund = SandboxRefund.objects.get()
    assert refund.charge.charge_id == payment.provider_charge_id
    assert refund.amount == payment.amount
    assert payment.provider_refund_id == refund.refund_id
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert Ticket.objects.filter(order=order).count() == 0
    assert Ticket.objects.count() == 2  # the rival's
    assert rival.paid
    assert sold(tier) == 2
    assert SandboxCharge.objects.filter(succeeded=True).count() == 2  # one per buyer
    assert payments_reconcile(older_than=timedelta(0)) == 0
    # Asking again with the same key tells the buyer the money went back.
    with pytest.raises(HoldExpired) as caught:
        order_pay(
            buyer=order.buyer, order_id=order.pk, idempotency_key="pay", source=LOST_ANSWER_CARD
        )
    assert caught.value.details["refunded"] is True
    assert SandboxCharge.objects.count() == 2
    assert SandboxRefund.objects.count() == 1


def test_retrying_the_same_key_after_an_unknown_outcome_gets_the_tickets_without_a_new_charge(
    unknown_outcome: tuple[TicketTier, Order],
) -> None:
    tier, order = unknown_outcome

    outcome = order_pay(
        buyer=order.buyer, order_id=order.pk, idempotency_key="pay", source=LOST_ANSWER_CARD
    )

    assert outcome.paid and len(outcome.tickets) == 2
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert SandboxCharge.objects.count() == 1
    assert sold(tier) == 2


def test_reconcilers_racing_the_buyers_retries_settle_one_charge_into_tickets_once(
    unknown_outcome: tuple[TicketTier, Order],
) -> None:
    tier, order = unknown_outcome

    def retry() -> Any:
        return order_pay(
            buyer=order.buyer, order_id=order.pk, idempotency_key="pay", source=LOST_ANSWER_CARD
        )

    def reconcile() -> int:
        return payments_reconcile(older_than=timedelta(0))

    results = run_together([retry, reconcile] * 5)

    assert set(tally(results)) <= {"ok", "PaymentInProgress"}, results
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    tickets = set(Ticket.objects.values_list("pk", flat=True))
    assert len(tickets) == 2
    for result in results[::2]:
        if not isinstance(result, Exception):
            assert {t.pk for t in result.tickets} == tickets
    assert sold(tier) == 2
    assert SandboxCharge.objects.count() == 1
    assert SandboxRefund.objects.count() == 0


def test_concurrent_reconcilers_refund_a_charge_whose_seats_are_gone_exactly_once(
    unknown_outcome: tuple[TicketTier, Order],
) -> None:
    tier, order = unknown_outcome
    order_paid(buyer=UserFactory.create(), tier=tier, quantity=2)

    results = run_together([lambda: payments_reconcile(older_than=timedelta(0))] * 8)

    assert tally(results) == {"ok": 8}, results
    assert Payment.objects.get(order=order).status == Payment.Status.REFUNDED
    assert SandboxRefund.objects.count() == 1
    assert Ticket.objects.filter(order=order).count() == 0
    assert sold(tier) == 2


def test_a_timeout_without_charge_releases_the_hold_and_a_later_attempt_pays_once_stale(
    attendee: User, tier: TicketTier
) -> None:
    gate_sync(event_ids=[tier.event_id])
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    with pytest.raises(PaymentPending):
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="t1", source=TIMEOUT_CARD)

    lost = Payment.objects.get()
    assert lost.status == Payment.Status.PENDING
    assert SandboxCharge.objects.count() == 0
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert sold(tier) == 0
    assert gate_counter(tier) == tier.capacity
    # While the first attempt may still be answered, another one waits.
    with pytest.raises(PaymentInProgress):
        order_pay(buyer=attendee, order_id=order.pk, idempotency_key="t2")
    assert SandboxCharge.objects.count() == 0

    Payment.objects.filter(pk=lost.pk).update(
        updated_at=timezone.now() - STALE_PAYMENT - timedelta(seconds=1)
    )
    outcome = order_pay(buyer=attendee, order_id=order.pk, idempotency_key="t2")

    assert outcome.paid and len(outcome.tickets) == 2
    lost.refresh_from_db()
    assert (lost.status, lost.failure_code) == (Payment.Status.FAILED, "no_answer")
    assert Payment.objects.get(idempotency_key="t2").status == Payment.Status.SUCCEEDED
    assert SandboxCharge.objects.count() == 1
    assert sold(tier) == 2


def test_a_timeout_retried_with_the_same_key_is_still_pending_and_charges_nothing(
    attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier)
    for _ in range(2):
        with pytest.raises(PaymentPending):
            order_pay(buyer=attendee, order_id=order.pk, idempotency_key="t", source=TIMEOUT_CARD)

    assert Payment.objects.count() == 1
    assert SandboxCharge.objects.count() == 0
    assert sold(tier) == 0


def test_a_stale_payment_the_processor_cannot_be_asked_about_is_not_given_up_as_failed(
    unknown_outcome: tuple[TicketTier, Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    tier, order = unknown_outcome
    lost = Payment.objects.get()
    Payment.objects.filter(pk=lost.pk).update(
        updated_at=timezone.now() - STALE_PAYMENT - timedelta(seconds=1)
    )

    def unreachable(self: SandboxProvider, *, idempotency_key: str) -> Any:
        raise ProviderUnavailable("sandbox: lookups are down")

    with monkeypatch.context() as patch:
        patch.setattr(SandboxProvider, "find_charge", unreachable)
        # Its charge may exist (it does): a new attempt must wait, not charge a second time.
        with pytest.raises(PaymentInProgress):
            order_pay(buyer=order.buyer, order_id=order.pk, idempotency_key="p2")

    lost.refresh_from_db()
    assert lost.status == Payment.Status.PENDING
    assert SandboxCharge.objects.count() == 1
    # Once the processor answers again, the next attempt settles the first charge into tickets.
    outcome = order_pay(buyer=order.buyer, order_id=order.pk, idempotency_key="p2")
    assert outcome.paid and len(outcome.tickets) == 2
    assert SandboxCharge.objects.count() == 1
    assert SandboxRefund.objects.count() == 0
    assert sold(tier) == 2


def test_reconciliation_never_gives_up_a_payment_while_the_processor_cannot_be_asked(
    unknown_outcome: tuple[TicketTier, Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    tier, order = unknown_outcome
    long_ago = timezone.now() - timedelta(hours=2)
    Payment.objects.update(created_at=long_ago, updated_at=long_ago)

    def unreachable(self: SandboxProvider, *, idempotency_key: str) -> Any:
        raise ProviderUnavailable("sandbox: lookups are down")

    with monkeypatch.context() as patch:
        patch.setattr(SandboxProvider, "find_charge", unreachable)
        assert payments_reconcile(give_up_after=timedelta(hours=1)) == 1

    assert Payment.objects.get().status == Payment.Status.PENDING  # not "failed": it was charged
    assert payments_reconcile(give_up_after=timedelta(hours=1)) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Ticket.objects.filter(order=order).count() == 2
    assert SandboxCharge.objects.count() == 1
    assert sold(tier) == 2
