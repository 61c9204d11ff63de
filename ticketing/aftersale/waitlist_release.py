"""Seats set aside for a waitlist: offered to the people waiting, or back on public sale.

`booking.releases.seats_return` sets released seats aside (still counted as sold) while
people wait; the waitlist app turns each into an offer through `order_hold_set_aside`, which
opens the offer's order with the booking core (`order_open`), or gives them back with
`set_aside_release`.
"""

import time
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F

from core.testswitches import switch_on
from events.models import TicketTier
from ticketing.booking.core import order_open
from ticketing.booking.gate import gate_give
from ticketing.booking.releases import in_transaction_check, set_aside_add
from ticketing.models import EventSeat, Order, SetAside


def _seats_set_aside(tier: TicketTier, quantity: int) -> None:
    """Hold the best `quantity` free seats of a seated tier for the waitlist."""
    free = EventSeat.objects.filter(tier=tier, order=None, blocked=False).order_by("rank")
    chosen = list(free.values_list("pk", flat=True)[:quantity])
    EventSeat.objects.filter(pk__in=chosen).update(
        blocked=True, block_reason=EventSeat.WAITLIST_BLOCK
    )


def _seats_back_on_sale(tier_id: Any, quantity: int) -> None:
    held = EventSeat.objects.filter(tier_id=tier_id, block_reason=EventSeat.WAITLIST_BLOCK)
    chosen = list(held.order_by("rank").values_list("pk", flat=True)[:quantity])
    EventSeat.objects.filter(pk__in=chosen).update(blocked=False, block_reason="")


def _seat_for_offer(tier: TicketTier) -> list[Any]:
    """A seat of a seated tier held for the waitlist, best first, unblocked for an offer."""
    seat = (
        EventSeat.objects.select_for_update()
        .filter(tier=tier, block_reason=EventSeat.WAITLIST_BLOCK)
        .order_by("rank")
        .first()
    )
    if seat is None:
        return []  # general admission
    EventSeat.objects.filter(pk=seat.pk).update(blocked=False, block_reason="")
    return [seat.pk]


def set_aside_release(*, tier_id: Any, quantity: int) -> None:
    """Give set-aside seats back to public sale (nobody left waiting); caller locked the tier."""
    if quantity <= 0:
        return
    updated = SetAside.objects.filter(pk=tier_id, quantity__gte=quantity).update(
        quantity=F("quantity") - quantity
    )
    if not updated:
        raise RuntimeError("set-aside seats are taken only under the tier's row lock")
    TicketTier.objects.filter(pk=tier_id).update(sold_count=F("sold_count") - quantity)
    _seats_back_on_sale(tier_id, quantity)
    event_id = TicketTier.objects.values_list("event_id", flat=True).get(pk=tier_id)
    given = {str(tier_id): quantity}
    transaction.on_commit(lambda: gate_give(event_id, given))


def order_hold_set_aside(
    *, buyer: Any, tier: TicketTier, expires_at: Any, idempotency_key: str
) -> Order | None:
    """Move one set-aside seat of `tier` into a pending order of `buyer` (an offer's hold).

    Runs inside the caller's transaction, after it locked the tier row: sold_count does not
    change (the seat was counted all along), so the gate and public availability stay exact.
    The order is paid through the normal `order_pay`, at the price of the moment of the offer.
    """
    in_transaction_check()
    if switch_on("promotion_unlocked"):
        # Test-only negative control: check, pause, then write without a condition.
        left = SetAside.objects.filter(pk=tier.pk).values_list("quantity", flat=True).first()
        if not left:
            return None
        time.sleep(0.05)
        SetAside.objects.filter(pk=tier.pk).update(quantity=left - 1)
    elif not SetAside.objects.filter(pk=tier.pk, quantity__gte=1).update(
        quantity=F("quantity") - 1
    ):
        return None
    order = order_open(
        buyer=buyer,
        event=tier.event,
        lines=[(tier, 1)],
        expires_at=expires_at,
        idempotency_key=idempotency_key,
        digest="waitlist-offer",
        seat_ids=_seat_for_offer(tier),
    )
    return order


def set_aside_of(tier_ids: Sequence[Any]) -> dict[str, int]:
    return {
        str(t): q
        for t, q in SetAside.objects.filter(tier_id__in=list(tier_ids)).values_list(
            "tier_id", "quantity"
        )
    }


def set_aside_claim_free(*, tier: TicketTier, quantity: int) -> int:
    """Set aside up to `quantity` seats still on public sale (capacity raised while people
    wait); caller locked the tier row. Returns how many were taken."""
    in_transaction_check()
    free = max(tier.capacity - tier.sold_count, 0)
    take = min(free, quantity)
    if take <= 0:
        return 0
    if not TicketTier.objects.filter(pk=tier.pk, sold_count__lte=F("capacity") - take).update(
        sold_count=F("sold_count") + take
    ):
        return 0
    set_aside_add(event_id=tier.event_id, tier_id=tier.pk, quantity=take)
    _seats_set_aside(tier, take)
    # The gate may still count them as on sale: it runs high, PostgreSQL refuses (see gate.py).
    return take
