"""Promotion as production runs it: a real Celery worker on real Redis, mail over real SMTP."""

import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from events.models import Event
from tests.factories import TicketTierFactory, UserFactory, order_paid, order_reserved
from tests.notifications.test_confirmation_email import Inbox
from tests.waitlist.worker import Worker, wait_for, worker_running
from ticketing.aftersale.refunds import order_refund
from ticketing.errors import SoldOut
from ticketing.models import Order, SetAside
from waitlist.models import Offer, WaitlistEntry
from waitlist.services import waitlist_join
from waitlist.tasks import expire_waitlist_offers, promote_waitlist

pytestmark = [pytest.mark.real_celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(
    own_broker: str,
    smtp_server: tuple[Inbox, int],
    tmp_path: Path,
) -> Iterator[Worker]:
    with worker_running(
        own_broker,
        tmp_path,
        queues=("celery", "notifications"),
        env={"EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[1]}"},
    ) as worker:
        yield worker


def open_offers() -> list[Offer]:
    return list(
        Offer.objects.filter(status=Offer.Status.OPEN)
        .select_related("user")
        .order_by("created_at", "id")
    )


def offer_mails(inbox: Inbox) -> list[str]:
    return [m["To"] for m in inbox.messages if "is held for you" in m["Subject"]]


def test_three_released_seats_go_to_the_first_three_of_five_and_a_lapse_to_the_fourth(
    worker: Worker, smtp_server: tuple[Inbox, int], event: Event
) -> None:
    inbox, _ = smtp_server
    tier = TicketTierFactory.create(event=event, capacity=3, price=Decimal("40.00"))
    paid = [order_paid(buyer=UserFactory.create(), tier=tier).order for _ in range(3)]
    people = UserFactory.create_batch(5)
    for person in people:
        waitlist_join(user=person, event=event, tier_id=tier.pk)

    for order in paid:  # three cancellations, each committed on its own
        order_refund(actor=order.buyer, order_id=order.pk, idempotency_key=f"r-{order.pk}")

    wait_for(lambda: len(open_offers()) == 3, timeout=30, worker=worker, what="three offers")
    assert [o.user for o in open_offers()] == people[:3]
    tier.refresh_from_db()
    assert tier.sold_count == 3  # all three seats are held for the offers
    with pytest.raises(SoldOut):  # so the public cannot buy them (gate and PostgreSQL agree)
        order_reserved(buyer=UserFactory.create(), tier=tier)
    wait_for(lambda: len(offer_mails(inbox)) == 3, timeout=30, worker=worker, what="3 mails")
    assert sorted(offer_mails(inbox)) == sorted(p.email for p in people[:3])

    # The first offer is not answered in time: the seat moves on to the fourth person.
    first = open_offers()[0]
    past = timezone.now() - timedelta(seconds=1)
    Offer.objects.filter(pk=first.pk).update(expires_at=past)
    Order.objects.filter(pk=first.order_id).update(expires_at=past)
    expire_waitlist_offers.delay()  # what Celery beat sends every 15 s

    wait_for(
        lambda: Offer.objects.filter(user=people[3]).exists(),
        timeout=30,
        worker=worker,
        what="the fourth person's offer",
    )
    first.refresh_from_db()
    assert first.status == Offer.Status.EXPIRED
    assert [o.user for o in open_offers()] == people[1:4]
    assert WaitlistEntry.objects.get(user=people[4]).status == WaitlistEntry.Status.WAITING

    # The promotion task run twice more (a redelivered message, an eager beat): no new offer.
    promote_waitlist.delay(str(event.pk))
    promote_waitlist.delay(str(event.pk))
    expire_waitlist_offers.delay()
    wait_for(lambda: len(offer_mails(inbox)) == 4, timeout=30, worker=worker, what="4th mail")
    time.sleep(3)  # the three tasks above run within this
    assert Offer.objects.count() == 4
    assert Offer.objects.values("entry").distinct().count() == 4
    assert len(offer_mails(inbox)) == 4
    assert sorted(offer_mails(inbox)) == sorted(p.email for p in people[:4])
    tier.refresh_from_db()
    assert tier.sold_count == 3 and SetAside.objects.get(tier=tier).quantity == 0
