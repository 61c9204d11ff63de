"""Giving seats back: to public sale, or set aside for the people on a waitlist.

ticketing does not know waitlists (it must not import them), so the waitlist app registers a
counter of the people waiting per tier (`waiting_counter_register`, from its AppConfig.ready).
Every release path (expired or cancelled hold, declined payment, refund) calls `seats_return`
inside its transaction: seats some waiting person will be offered stay counted as sold and go
to `SetAside`, so neither the Redis gate nor PostgreSQL ever offers them to the public; only
the rest goes back on sale (and to the gate after commit).
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from events.models import TicketTier
from ticketing.booking.gate import gate_give
from ticketing.models import EventSeat, SetAside
from ticketing.signals import seats_set_aside

# (event_id, tier_ids) -> {tier_id (str): number of people waiting who could take that tier}
WaitingCounter = Callable[[Any, Sequence[str]], dict[str, int]]
_counters: list[WaitingCounter] = []


def in_transaction_check() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("runs inside the caller's transaction, which holds the row locks")


def waiting_counter_register(counter: WaitingCounter) -> None:
    """Let an app (the waitlist) claim released seats for the people it keeps waiting."""
    if counter not in _counters:
        _counters.append(counter)


def _waiting(event_id: Any, tier_ids: Sequence[str]) -> dict[str, int]:
    totals = dict.fromkeys(tier_ids, 0)
    for counter in _counters:
        for tier_id, n in counter(event_id, tier_ids).items():
            totals[tier_id] = totals.get(tier_id, 0) + n
    return totals


def set_aside_add(*, event_id: Any, tier_id: Any, quantity: int) -> None:
    """Add seats (already counted in sold_count) to a tier's set-aside; inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {SetAside._meta.db_table} (tier_id, event_id, quantity)
                VALUES (%s, %s, %s)
                ON CONFLICT (tier_id) DO UPDATE
                SET quantity = {SetAside._meta.db_table}.quantity + EXCLUDED.quantity""",  # noqa: S608 - table name from model metadata
            [tier_id, event_id, quantity],
        )


def seats_return(
    *, event_id: Any, lines: Iterable[tuple[Any, int]], seat_ids: Sequence[Any] = ()
) -> dict[str, int]:
    """Release seats inside the caller's transaction; returns what went back on public sale.

    Tier rows are updated in ascending id order, then set-aside rows: the same order every
    path uses, so two releases never deadlock. `seat_ids`: the assigned seats released, which
    follow their counts (on sale again, or held for the waitlist).
    """
    in_transaction_check()
    merged: dict[str, int] = {}
    for tier_id, quantity in lines:
        merged[str(tier_id)] = merged.get(str(tier_id), 0) + quantity
    tier_ids = sorted(merged)
    waiting = _waiting(event_id, tier_ids) if _counters else {}
    pending = (
        {
            str(t): q
            for t, q in SetAside.objects.filter(
                tier_id__in=[uuid.UUID(t) for t in tier_ids]
            ).values_list("tier_id", "quantity")
        }
        if waiting and any(waiting.values())
        else {}
    )
    given: dict[str, int] = {}
    kept: dict[str, int] = {}
    for tier_id in tier_ids:
        quantity = merged[tier_id]
        # People not yet covered by seats already set aside get the released ones first.
        uncovered = max(waiting.get(tier_id, 0) - pending.get(tier_id, 0), 0)
        keep = min(quantity, uncovered)
        back = quantity - keep
        if back:
            TicketTier.objects.filter(pk=tier_id).update(sold_count=F("sold_count") - back)
            given[tier_id] = back
        if keep:
            kept[tier_id] = keep
    for tier_id in sorted(kept):
        set_aside_add(event_id=event_id, tier_id=tier_id, quantity=kept[tier_id])
    if seat_ids:
        _seats_follow(seat_ids, given)
    if given:
        transaction.on_commit(lambda: gate_give(event_id, given))
    if kept:
        transaction.on_commit(
            lambda: seats_set_aside.send(sender=SetAside, event_id=event_id, tier_ids=list(kept))
        )
    return given


# --- Assigned seats follow their counts ---------------------------------------------------------
# A released seat whose count goes back on sale is free again; one whose count is set aside is
# blocked with WAITLIST_BLOCK (blocked seats are out of every sale path) until an offer takes it
# or the set-aside goes back on sale. Its tier's capacity is unchanged: sold_count counts it.


def _seats_follow(seat_ids: Sequence[Any], given: dict[str, int]) -> None:
    seats = EventSeat.objects.filter(pk__in=list(seat_ids)).order_by("rank", "pk")
    back: list[Any] = []
    aside: list[Any] = []
    left = dict(given)
    for pk, tier_id in seats.values_list("pk", "tier_id"):
        if left.get(str(tier_id), 0) > 0:
            left[str(tier_id)] -= 1
            back.append(pk)
        else:
            aside.append(pk)
    EventSeat.objects.filter(pk__in=back).update(order=None)
    EventSeat.objects.filter(pk__in=aside).update(
        order=None, blocked=True, block_reason=EventSeat.WAITLIST_BLOCK
    )
