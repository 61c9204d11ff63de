"""The Redis admission gate (ticketing.booking.gate): it turns a sold-out rush away without
PostgreSQL, it never lets an estimate oversell, and booking carries on correctly when Redis dies."""

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from config.devstack import port_open, redis_server_binary
from events.models import Event
from tests.factories import EventFactory, TicketTierFactory, UserFactory, order_reserved
from tests.ticketing.racing import (
    gate_counter,
    gate_counter_set,
    reserve,
    run_together,
    sold,
    tally,
)
from ticketing.booking import gate
from ticketing.booking.core import orders_release_expired
from ticketing.booking.gate import gate_give, gate_sync, gate_take
from ticketing.booking.services import order_pay
from ticketing.errors import PaymentDeclined, SoldOut
from ticketing.models import Order

DECLINED_CARD = "4000000000000002"


# --- Counters --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_once_a_tier_is_sold_out_the_gate_answers_with_only_the_idempotency_lookup(
    django_assert_num_queries: Any,
) -> None:
    tier = TicketTierFactory.create(capacity=1)
    gate_sync(event_ids=[tier.event_id])
    order_reserved(buyer=UserFactory.create(), tier=tier)
    assert gate_counter(tier) == 0
    first, late = UserFactory.create_batch(2)
    with pytest.raises(SoldOut):  # elected to look for lapsed holds: this one asks PostgreSQL
        reserve(first, tier)()

    with django_assert_num_queries(1), pytest.raises(SoldOut):  # Order by (buyer, key) only
        reserve(late, tier)()

    assert sold(tier) == 1
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_gate_sync_rebuilds_counters_of_on_sale_tiers_from_the_database() -> None:
    event = EventFactory.create()
    floor = TicketTierFactory.create(event=event, capacity=10)
    balcony = TicketTierFactory.create(event=event, capacity=5)
    order_reserved(buyer=UserFactory.create(), tier=floor, quantity=3)
    gate_counter_set(floor, 100)  # wrong by hand; balcony has no counter at all
    draft = TicketTierFactory.create(event=EventFactory.create(status=Event.Status.DRAFT))
    ended = TicketTierFactory.create(
        event=EventFactory.create(
            starts_at=timezone.now() - timedelta(days=2),
            ends_at=timezone.now() - timedelta(days=1),
        )
    )

    assert gate_sync() == 2

    assert (gate_counter(floor), gate_counter(balcony)) == (7, 5)
    assert gate_counter(draft) is None and gate_counter(ended) is None


@pytest.mark.django_db
def test_a_tier_without_a_counter_is_admitted_and_nothing_is_recorded_as_taken() -> None:
    tier = TicketTierFactory.create(capacity=1)

    assert gate_take(tier.event_id, {str(tier.pk): 1}) == {}
    gate_give(tier.event_id, {str(tier.pk): 1})

    assert gate_counter(tier) is None  # a give never invents a counter


@pytest.mark.django_db
def test_a_copy_of_an_admitted_request_passes_a_short_gate_without_taking() -> None:
    tier = TicketTierFactory.create(capacity=2)
    gate_sync(event_ids=[tier.event_id])
    wanted = {str(tier.pk): 2}

    assert gate_take(tier.event_id, wanted, request="buyer:key") == wanted
    # Its copy (in flight with the same key) goes on to PostgreSQL, which answers with the
    # first copy's order; anyone else is sold out.
    assert gate_take(tier.event_id, wanted, request="buyer:key") == {}
    with pytest.raises(SoldOut):
        gate_take(tier.event_id, wanted, request="other:key")
    assert gate_counter(tier) == 0


@pytest.mark.django_db(transaction=True)  # seats go back to the gate on commit
@pytest.mark.parametrize("lapse", ["declined", "expired"])
def test_seats_released_by_a_decline_or_an_expiry_go_back_to_the_gate_for_the_next_buyer(
    lapse: str,
) -> None:
    tier = TicketTierFactory.create(capacity=1)
    gate_sync(event_ids=[tier.event_id])
    first = UserFactory.create()
    order = order_reserved(buyer=first, tier=tier)
    late = UserFactory.create()
    with pytest.raises(SoldOut):
        reserve(late, tier)()

    if lapse == "declined":
        with pytest.raises(PaymentDeclined):
            order_pay(buyer=first, order_id=order.pk, idempotency_key="p", source=DECLINED_CARD)
    else:
        Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert orders_release_expired() == 1

    assert gate_counter(tier) == 1
    assert reserve(late, tier)().status == Order.Status.PENDING
    assert gate_counter(tier) == 0
    assert sold(tier) == 1
    assert Order.objects.filter(status=Order.Status.PENDING).get().buyer == late


@pytest.mark.django_db(transaction=True)
def test_a_counter_wrongly_high_cannot_oversell_and_the_gate_is_resynced() -> None:
    tier = TicketTierFactory.create(capacity=2)
    order_reserved(buyer=UserFactory.create(), tier=tier)
    gate_counter_set(tier, 100)  # one seat left, the gate believes a hundred
    buyers = UserFactory.create_batch(20)

    results = run_together([reserve(buyer, tier) for buyer in buyers])

    assert tally(results) == {"ok": 1, "SoldOut": 19}, tally(results)
    assert sold(tier) == 2
    assert Order.objects.filter(status=Order.Status.PENDING).count() == 2
    # A refusal by PostgreSQL re-syncs the gate (a sync racing the last take may leave it one
    # high, so one more refusal may reach PostgreSQL); then Redis alone answers.
    with pytest.raises(SoldOut):
        reserve(UserFactory.create(), tier)()
    assert gate_counter(tier) == 0
    with pytest.raises(SoldOut):
        reserve(UserFactory.create(), tier)()
    assert sold(tier) == 2
    assert Order.objects.count() == 2


# --- Redis dies mid-sale ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def own_redis(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of this test's own, which it may kill; the cache and gate point at it."""
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own fixed command
        [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_open(port):
            assert time.monotonic() < deadline, "redis-server did not start"
            assert server.poll() is None, "redis-server exited"
            time.sleep(0.05)
        default = settings.CACHES["default"]
        # Django resets its cache handler when CACHES changes; django-redis keys its
        # connection pools by URL, so the new location gets a new pool.
        settings.CACHES = {
            **settings.CACHES,
            "default": {**default, "LOCATION": f"redis://127.0.0.1:{port}/0"},
        }
        # The gate's Lua scripts remember the client that registered them, and its "Redis is
        # down" flag is process-wide: start both fresh and put them back afterwards.
        monkeypatch.setattr(gate, "_scripts", {})
        monkeypatch.setattr(gate, "_down_until", 0.0)
        yield server
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_when_redis_dies_mid_sale_booking_goes_on_in_postgresql_without_overselling(
    own_redis: subprocess.Popen[bytes],
) -> None:
    tier = TicketTierFactory.create(capacity=30, max_per_order=1)
    assert gate_sync(event_ids=[tier.event_id]) == 1
    assert gate_counter(tier) == 30
    early, late = UserFactory.create_batch(20), UserFactory.create_batch(20)
    killed = {"after": -1}

    def kill_redis_mid_sale() -> None:
        deadline = time.monotonic() + 30
        while Order.objects.count() < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        killed["after"] = Order.objects.count()
        own_redis.kill()  # SIGKILL: no goodbye to the clients
        own_redis.wait(timeout=10)

    def after_the_kill(call: Callable[[], Order]) -> Callable[[], Order]:
        def wait_then_call() -> Order:
            while own_redis.poll() is None:
                time.sleep(0.005)
            return call()

        return wait_then_call

    results = run_together(
        [reserve(buyer, tier) for buyer in early]
        + [after_the_kill(reserve(buyer, tier)) for buyer in late],
        while_running=kill_redis_mid_sale,
    )

    assert 5 <= killed["after"] <= len(early), killed  # Redis died with the sale under way
    assert gate._down_until > 0  # the gate noticed and stepped aside
    assert tally(results) == {"ok": 30, "SoldOut": 10}, results
    assert sold(tier) == 30
    assert Order.objects.filter(status=Order.Status.PENDING).count() == Order.objects.count() == 30
    assert {r.pk for r in results if isinstance(r, Order)} == set(
        Order.objects.values_list("pk", flat=True)
    )
