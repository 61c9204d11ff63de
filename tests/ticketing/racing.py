"""Helpers for race tests: calls on real threads with their own connections, started together."""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django_redis import get_redis_connection

from accounts.models import User
from events.models import TicketTier
from ticketing.booking import gate
from ticketing.booking.services import order_reserve
from ticketing.models import Order

START_TIMEOUT_S = 60.0


def run_together(
    calls: Sequence[Callable[[], Any]],
    *,
    while_running: Callable[[], None] | None = None,
    timeout: float = 120.0,
) -> list[Any]:
    """Run each call on its own thread and database connection, all released by one barrier.

    Returns each call's result, or the exception it raised, in the order of `calls`;
    `while_running` runs on this thread meanwhile. A thread still running after `timeout`
    seconds (a deadlock, a hang) fails the test.
    """
    barrier = threading.Barrier(len(calls) + 1)
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect before the start line, not after it
            barrier.wait(timeout=START_TIMEOUT_S)
            results[index] = call()
        except Exception as exc:  # returned to the test, so a surprise cannot hide
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=START_TIMEOUT_S)
    if while_running is not None:
        while_running()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = sum(thread.is_alive() for thread in threads)
    assert not alive, f"{alive} of {len(threads)} threads still running after {timeout} s"
    return results


def tally(results: Sequence[Any]) -> Counter[str]:
    """How many calls returned ("ok") and how many raised each kind of error."""
    return Counter(type(r).__name__ if isinstance(r, BaseException) else "ok" for r in results)


def gate_counter(tier: TicketTier) -> int | None:
    """The admission gate's count of tickets left for `tier`, None when it has no counter."""
    value = get_redis_connection("default").get(gate.counter_key(tier.event_id, tier.pk))
    return None if value is None else int(value)


def gate_counter_set(tier: TicketTier, value: int) -> None:
    get_redis_connection("default").set(gate.counter_key(tier.event_id, tier.pk), value)


def reserve(buyer: User, tier: TicketTier, quantity: int = 1) -> Callable[[], Order]:
    """A call that holds `quantity` of `tier` for `buyer` with a fresh idempotency key."""

    def call() -> Order:
        return order_reserve(
            buyer=buyer,
            event_id=tier.event_id,
            items=[(tier.pk, quantity)],
            idempotency_key=uuid.uuid4().hex,
        )

    return call


def sold(tier: TicketTier) -> int:
    """The tier's held + sold count as the database has it now."""
    tier.refresh_from_db()
    return tier.sold_count
