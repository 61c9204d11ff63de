"""Cancelling an event refunds every order exactly once, even when the worker is killed."""

import json
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.core import mail
from django.db.models import Count, Sum

from accounts.models import User
from events.models import Event, TicketTier
from notifications.models import Message, Topic
from tests.factories import UserFactory, order_paid, order_reserved
from tests.waitlist.worker import Worker, own_broker, wait_for
from ticketing.aftersale.cancellation import (
    event_cancel_with_refunds,
    refund_job_step,
    refund_jobs_resume,
)
from ticketing.models import (
    Order,
    OrderLine,
    Payment,
    Refund,
    RefundJob,
    RefundLine,
    SandboxCharge,
    SandboxRefund,
    Ticket,
)
from waitlist.services import waitlist_join

__all__ = ["own_broker"]  # fixture

pytestmark = pytest.mark.django_db(transaction=True)
PRICE = Decimal("25.00")


def paid_orders_in_bulk(tier: TicketTier, n: int) -> list[Order]:
    """`n` paid orders of one ticket each, as the booking path leaves them, inserted in bulk."""
    buyers = User.objects.bulk_create(
        User(email=f"buyer{i}-{uuid.uuid4().hex[:6]}@example.com", full_name=f"Buyer {i}")
        for i in range(n)
    )
    orders = Order.objects.bulk_create(
        Order(
            buyer=b,
            event=tier.event,
            status=Order.Status.PAID,
            total=PRICE,
            currency="EUR",
            expires_at=tier.event.starts_at,
            idempotency_key=f"bulk-{i}",
            request_digest="bulk",
        )
        for i, b in enumerate(buyers)
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=o, tier=tier, quantity=1, unit_price=PRICE) for o in orders
    )
    charges = SandboxCharge.objects.bulk_create(
        SandboxCharge(
            charge_id=f"ch_sb_bulk{i:06d}",
            idempotency_key=f"bulk-charge-{o.pk}",
            amount=PRICE,
            currency="EUR",
            card_last4="4242",
            succeeded=True,
        )
        for i, o in enumerate(orders)
    )
    Payment.objects.bulk_create(
        Payment(
            order=o,
            buyer=o.buyer,
            provider="sandbox",
            provider_charge_id=c.charge_id,
            amount=PRICE,
            currency="EUR",
            status=Payment.Status.SUCCEEDED,
            idempotency_key=f"bulk-pay-{i}",
        )
        for i, (o, c) in enumerate(zip(orders, charges, strict=True))
    )
    Ticket.objects.bulk_create(
        Ticket(
            order=o,
            event=tier.event,
            tier=tier,
            holder=o.buyer,
            attendee_name=o.buyer.full_name,
            qr_payload=f"bulk-{o.pk}",
        )
        for o in orders
    )
    TicketTier.objects.filter(pk=tier.pk).update(sold_count=n)
    return orders


def assert_refunded_exactly_once(event: Event, n: int) -> None:
    assert Refund.objects.filter(order__event=event).count() == n
    assert RefundLine.objects.filter(ticket__event=event).count() == n
    per_order = Refund.objects.values("order").annotate(n=Count("id")).values_list("n", flat=True)
    assert set(per_order) == {1}
    at_processor = SandboxRefund.objects.filter(charge__charge_id__startswith="ch_sb_bulk")
    assert at_processor.count() == n
    assert at_processor.values("charge").distinct().count() == n
    assert at_processor.aggregate(s=Sum("amount"))["s"] == PRICE * n
    assert not Refund.objects.filter(status=Refund.Status.PENDING).exists()
    assert not Ticket.objects.filter(event=event, status=Ticket.Status.VALID).exists()
    assert RefundJob.objects.get(event=event).status == RefundJob.Status.DONE


@pytest.fixture
def organizer_event(organizer: User, event: Event) -> tuple[User, Event, TicketTier]:
    tier = TicketTier.objects.create(event=event, name="GA", price=PRICE, capacity=1000)
    return organizer, event, tier


def test_cancelling_refunds_every_order_once_and_tells_everyone_once(
    organizer_event: tuple[User, Event, TicketTier],
) -> None:
    organizer, event, tier = organizer_event
    TicketTier.objects.filter(pk=tier.pk).update(capacity=5)
    orders = [order_paid(buyer=UserFactory.create(), tier=tier).order for _ in range(3)]
    hold = order_reserved(buyer=UserFactory.create(), tier=tier, quantity=2)  # sold out now
    waiting = UserFactory.create()
    waitlist_join(user=waiting, event=event, tier_id=tier.pk)
    mail.outbox.clear()

    job = event_cancel_with_refunds(actor=organizer, event_id=event.pk)  # tasks run inline here

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert RefundJob.objects.get(pk=job.pk).status == RefundJob.Status.DONE
    assert Refund.objects.filter(reason="event_cancelled").count() == 3
    assert Order.objects.get(pk=hold.pk).status == Order.Status.CANCELLED
    refund_mails = [m.to[0] for m in mail.outbox if m.subject.startswith("Refund for")]
    assert sorted(refund_mails) == sorted(o.buyer.email for o in orders)
    cancelled = Counter(m.to[0] for m in mail.outbox if m.subject.startswith("Cancelled:"))
    assert cancelled == Counter([*(o.buyer.email for o in orders), waiting.email])

    # Asking again (a second click, a restarted job) changes nothing and mails nobody.
    mail.outbox.clear()
    event_cancel_with_refunds(actor=organizer, event_id=event.pk)
    assert refund_job_step(job_id=job.pk) == 0
    assert Refund.objects.count() == 3 and SandboxRefund.objects.count() == 3
    assert mail.outbox == []


@pytest.mark.real_celery
def test_a_thousand_orders_are_refunded_exactly_once_though_the_worker_is_killed(
    own_broker: str, organizer_event: tuple[User, Event, TicketTier], tmp_path: Path
) -> None:
    organizer, event, tier = organizer_event
    paid_orders_in_bulk(tier, 1000)
    # Only the default queue: the 1,000 refund mails wait in `notifications`, counted below.
    worker = Worker(own_broker, tmp_path, queues=("celery",), env={"SANDBOX_LATENCY_MS": "5"})
    started = time.monotonic()
    try:
        worker.start()  # inside the try: a start that times out must not leave it running
        event_cancel_with_refunds(actor=organizer, event_id=event.pk)
        wait_for(
            lambda: Refund.objects.count() >= 150,
            timeout=120,
            worker=worker,
            what="the job to be well under way",
        )
        worker.kill()  # mid-job, mid-batch, perhaps mid-refund
        done_before = Refund.objects.count()
        assert 150 <= done_before < 1000, done_before

        worker.start()
        refund_jobs_resume()  # what beat does every two minutes
        wait_for(
            lambda: RefundJob.objects.get(event=event).status == RefundJob.Status.DONE,
            timeout=240,
            worker=worker,
            what="the job to finish",
        )
    finally:
        worker.stop()
    # For the record (run with -s): wall time including the kill and the restart.
    elapsed = time.monotonic() - started
    print(f"refund job: 1000 orders, killed after {done_before}, {elapsed:.1f} s")

    assert_refunded_exactly_once(event, 1000)
    # Nothing enqueued twice.
    client = redis.Redis.from_url(own_broker)
    try:
        queued = [json.loads(m) for m in client.lrange("notifications", 0, -1)]
    finally:
        client.close()
    # What waits there (no worker drains `notifications` here) are relay ticks: they name no
    # message, each relays whatever is due under the outbox rows' locks, so many of them send
    # nothing twice. Any task that names something must be there once.
    tasks = Counter((m["headers"]["task"], m["headers"]["argsrepr"]) for m in queued)
    named = {key: n for key, n in tasks.items() if key[0] != "notifications.tasks.relay"}
    assert all(n == 1 for n in named.values()), [k for k, n in named.items() if n > 1][:5]
    assert tasks[("notifications.tasks.relay", "()")] < 1000  # ticks batch, not one per refund
    # The waitlist's cancellation notice: one outbox row, written when the job finished.
    assert Message.objects.filter(topic=Topic.WAITLIST_EVENT_CANCELLED, event=event).count() == 1
    # Each refund's buyer message is one outbox row, written with the refund.
    refunded = Message.objects.filter(topic=Topic.ORDER_REFUNDED)
    assert refunded.count() == 1000
    assert len({m.data["order_id"] for m in refunded}) == 1000
