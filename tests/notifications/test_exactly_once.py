"""Exactly-once delivery against real failures: a real Celery worker (kill -9 and restart), a real
Redis broker that goes away, an SMTP server that refuses, a webhook receiver that answers 500."""

import hashlib
import hmac
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from config.devstack import redis_server_binary
from events.models import TicketTier
from notifications.models import Delivery, DeliveryAttempt, Message, Notification, WebhookEndpoint
from notifications.services import broker_breaker, notifications_redispatch
from notifications.tasks import fan_out, record_reminders, send_deliveries
from tests.factories import order_paid
from tests.notifications.conftest import (
    HttpReceiver,
    Inbox,
    WorkerFactory,
    drop_broker_pools,
    free_port,
    use_broker,
    wait_for,
)
from tests.notifications.helpers import (
    holders_with_tickets,
    make_event,
    make_tier,
    make_user,
)
from ticketing.models import Order

pytestmark = [pytest.mark.real_celery, pytest.mark.django_db(transaction=True)]


def confirmation_email(order: Order) -> Delivery:
    return Delivery.objects.get(message__dedupe_key=f"order.confirmed:{order.pk}", channel="email")


def test_worker_killed_mid_delivery_delivers_exactly_once_after_restart(
    start_worker: WorkerFactory,
    smtp_server: tuple[Inbox, int],
    attendee: User,
    tier: TicketTier,
    settings,
) -> None:
    inbox, _ = smtp_server
    inbox.stall_rcpt = threading.Event()  # the server holds the worker mid-conversation
    first = start_worker()
    order = order_paid(buyer=attendee, tier=tier).order
    wait_for(inbox.stalled.is_set, timeout=30, what="the worker to be mid-delivery", log=first.log)
    assert confirmation_email(order).status == Delivery.Status.SENDING

    first.kill_9()
    inbox.stall_rcpt.set()
    time.sleep(0.5)
    assert inbox.messages == []  # the killed connection never got as far as the message

    second = start_worker()
    settings.NOTIFICATIONS_SENDING_LEASE_SECONDS = 0.5  # the beat job, after the lease ran out
    settings.NOTIFICATIONS_REDISPATCH_GRACE_SECONDS = 0
    time.sleep(0.6)
    # The email, and the in-app entry claimed in the same batch.
    assert notifications_redispatch()["reclaimed"] == 2
    wait_for(lambda: len(inbox.messages) >= 1, timeout=30, what="the email", log=second.log)

    # More re-dispatch runs and duplicate tasks change nothing.
    notifications_redispatch()
    for _ in range(3):
        send_deliveries.delay([str(confirmation_email(order).pk)])
    time.sleep(2)
    assert len(inbox.messages) == 1
    assert inbox.recipients == [[attendee.email]]
    delivery = confirmation_email(order)
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2  # the killed try and the one that went through
    assert Notification.objects.filter(user=attendee).count() == 1


class RedisProcess:
    """A redis-server of our own, so a test can really stop the broker and start it again."""

    def __init__(self, directory: Path) -> None:
        self.port, self.directory = free_port(), directory
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or redis_server_binary()
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed command
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: self._pings(client), timeout=10, what="redis-server")

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


def test_booking_succeeds_with_the_broker_down_and_the_confirmation_follows_it_back(
    start_worker: WorkerFactory,
    smtp_server: tuple[Inbox, int],
    own_redis: RedisProcess,
    attendee: User,
    tier: TicketTier,
    settings,
) -> None:
    inbox, _ = smtp_server
    with pytest.MonkeyPatch.context() as patch:
        use_broker(own_redis.url, patch)
        own_redis.stop()  # the broker is down while the booking commits

        started = time.monotonic()
        outcome = order_paid(buyer=attendee, tier=tier, quantity=2)
        first = time.monotonic() - started
        started = time.monotonic()
        second_buyer = make_user()
        second = order_paid(buyer=second_buyer, tier=tier)
        later = time.monotonic() - started

        assert outcome.order.status == second.order.status == Order.Status.PAID
        assert len(outcome.tickets) == 2
        # The first booking pays for redis-py's connection retries; after it the breaker is open.
        assert first < 10, f"The booking waited {first:.1f} s on the dead broker"
        assert later < 1, f"The second booking waited {later:.1f} s on the dead broker"
        pending = Message.objects.filter(status=Message.Status.PENDING)
        assert pending.count() == 2  # kept, waiting for the broker
        assert not Delivery.objects.exists()

        own_redis.start()  # the broker is back (empty: whatever was in flight is gone)
        worker = start_worker(broker=own_redis.url)
        settings.NOTIFICATIONS_REDISPATCH_GRACE_SECONDS = 0
        broker_breaker.reset()  # (its 15 s would have passed by the next beat run)
        assert notifications_redispatch()["messages"] == 2  # what beat does every minute
        wait_for(lambda: len(inbox.messages) >= 2, timeout=30, what="the emails", log=worker.log)
        time.sleep(1)
        assert notifications_redispatch()["messages"] == 0
        time.sleep(1)

    assert sorted(r[0] for r in inbox.recipients) == sorted([attendee.email, second_buyer.email])
    assert inbox.messages[0]["Subject"] == f"Your tickets for {tier.event.title}"
    assert confirmation_email(outcome.order).status == Delivery.Status.SENT


def test_smtp_refusal_is_retried_and_delivered_once_when_the_server_recovers(
    start_worker: WorkerFactory, smtp_server: tuple[Inbox, int], attendee: User, tier: TicketTier
) -> None:
    inbox, _ = smtp_server
    inbox.refuse_next = 2  # "451 try again later", twice
    worker = start_worker()
    order = order_paid(buyer=attendee, tier=tier).order

    wait_for(lambda: bool(inbox.messages), timeout=30, what="the email", log=worker.log)
    time.sleep(1.5)
    assert inbox.refused == 2
    assert len(inbox.messages) == 1
    delivery = confirmation_email(order)
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 3
    log = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.succeeded, a.response_code) for a in log] == [
        (False, 451),
        (False, 451),
        (True, 250),
    ]


def test_webhook_answering_500_twice_is_one_delivery_after_three_signed_attempts(
    start_worker: WorkerFactory,
    http_receiver: HttpReceiver,
    attendee: User,
    tier: TicketTier,
) -> None:
    endpoint = WebhookEndpoint.objects.create(
        organization=tier.event.organization,
        url=f"{http_receiver.url}/hooks/boxoffice",
        topics=["order.confirmed"],
    )
    http_receiver.script = [500, 500]
    worker = start_worker()
    order = order_paid(buyer=attendee, tier=tier).order

    wait_for(
        lambda: Delivery.objects.filter(endpoint=endpoint, status="sent").exists(),
        timeout=30,
        what="the webhook delivery",
        log=worker.log,
    )
    time.sleep(1)
    requests = http_receiver.requests
    assert len(requests) == 3
    assert len({r.body for r in requests}) == 1  # the same event each time
    assert len({r.headers["Boxoffice-Event-Id"] for r in requests}) == 1
    for request in requests:
        parts = dict(p.split("=", 1) for p in request.headers["Boxoffice-Signature"].split(","))
        signed = parts["t"].encode() + b"." + request.body
        expected = hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(parts["v1"], expected)
        assert abs(int(parts["t"]) - time.time()) < 60
    body = http_receiver.json(0)
    assert body["type"] == "order.confirmed"
    assert body["data"]["order"]["id"] == str(order.pk)
    assert body["data"]["event"]["id"] == str(tier.event_id)

    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.attempts == 3
    codes = list(delivery.log.order_by("number").values_list("response_code", flat=True))
    assert codes == [500, 500, 200]
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0


def test_task_delivered_several_times_sends_once(
    start_worker: WorkerFactory, smtp_server: tuple[Inbox, int], attendee: User, tier: TicketTier
) -> None:
    inbox, _ = smtp_server
    order = order_paid(buyer=attendee, tier=tier).order  # no worker yet: the task waits
    message = Message.objects.get(dedupe_key=f"order.confirmed:{order.pk}")
    for _ in range(4):  # the broker hands the same work out again and again
        fan_out.delay(str(message.pk))
    worker = start_worker(concurrency=3)

    wait_for(lambda: bool(inbox.messages), timeout=30, what="the email", log=worker.log)
    email = confirmation_email(order)
    for _ in range(5):
        send_deliveries.delay([str(email.pk)])
    time.sleep(3)
    assert len(inbox.messages) == 1
    assert Notification.objects.filter(user=attendee).count() == 1
    assert Delivery.objects.filter(message=message).count() == 2  # email + in-app


def test_reminders_for_1000_tickets_go_out_exactly_once_when_beat_runs_twice(
    start_worker: WorkerFactory, smtp_server: tuple[Inbox, int], organizer: User
) -> None:
    inbox, _ = smtp_server
    event = make_event(
        organization=organizer.organizations.get(),
        starts_at=timezone.now() + timedelta(hours=23, minutes=50),
        time_zone="America/New_York",
    )
    tier = make_tier(event=event, capacity=1000)
    holders = holders_with_tickets(event, tier, 1000)
    worker = start_worker(concurrency=2)

    record_reminders.delay()  # beat's run
    record_reminders.delay()  # ...and again (a restarted beat, a second beat by mistake)
    call_command("notifications_reminders")  # and an operator by hand

    wait_for(
        lambda: len(inbox.messages) >= 1000, timeout=240, what="1000 reminders", log=worker.log
    )
    time.sleep(2)
    assert len(inbox.messages) == 1000
    assert sorted(r[0] for r in inbox.recipients) == sorted(u.email for u in holders)
    assert Message.objects.filter(topic="event.reminder").count() == 1
    subject = inbox.messages[0]["Subject"]
    assert subject == f"Reminder: {event.title} starts tomorrow"
    local = timezone.localtime(event.starts_at, event.tz)
    text = inbox.messages[0].get_body(("plain",))
    assert text is not None
    assert f"{local:%H:%M} {local.tzname()} (America/New_York)" in text.get_content()
    assert str(inbox.messages[0]["List-Unsubscribe"]).strip().startswith("<http")


def test_worker_delivers_again_after_its_broker_is_killed_and_restarted(
    start_worker: WorkerFactory,
    smtp_server: tuple[Inbox, int],
    own_redis: RedisProcess,
    attendee: User,
    tier: TicketTier,
) -> None:
    inbox, _ = smtp_server
    with pytest.MonkeyPatch.context() as patch:
        use_broker(own_redis.url, patch)
        worker = start_worker(broker=own_redis.url, concurrency=2)  # prefork, as deployed
        order_paid(buyer=attendee, tier=tier)
        wait_for(lambda: len(inbox.messages) == 1, timeout=30, what="the email", log=worker.log)

        assert own_redis.process is not None
        own_redis.process.kill()  # kill -9, as the drill does
        own_redis.process.wait(timeout=10)
        time.sleep(3)  # the worker notices and starts reconnecting
        own_redis.start()

        drop_broker_pools()  # this process's stale connections: a web process's breaker's job
        broker_breaker.reset()
        second_buyer = make_user()
        order_paid(buyer=second_buyer, tier=tier)
        wait_for(lambda: len(inbox.messages) == 2, timeout=60, what="the email", log=worker.log)
        assert worker.alive()

    assert sorted(r[0] for r in inbox.recipients) == sorted([attendee.email, second_buyer.email])
