"""The booking core: take inventory, open an order, issue tickets, release, each written once.

Every way to get tickets goes through here: general admission (`booking.services`), chosen
and best-available seats (`seating.services`), a waitlist offer (`aftersale.waitlist_release`)
and a transfer's new ticket (`aftersale.transfers`); every way to give them back (expiry, a
declined or lost payment, a refund, an event's cancellation) releases through
`order_release` or `releases.seats_return`. How a ticket's state may change afterwards is
`booking.lifecycle`.

Inventory truth is `TicketTier.sold_count` (held + sold), changed only by a conditional UPDATE
in tier-id order, under `CHECK (sold_count <= capacity)`. `booking.hotpath` is this module's
one-statement mirror for the plain rush case; it never decides anything this module would not.
"""

import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.testswitches import switch_on
from events.models import Event, TicketTier
from ticketing.booking.gate import GateShort, gate_take
from ticketing.booking.releases import seats_return
from ticketing.booking.tickets import ticket_signer
from ticketing.errors import (
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    QuantityLimit,
    SalesClosed,
    SoldOut,
)
from ticketing.models import EventSeat, Order, OrderLine, Ticket
from vouchers.models import Voucher
from vouchers.services import order_pricing, voucher_reclaim, voucher_redeem, voucher_release

# --- Requests: idempotency and lock waits ------------------------------------------------------


def request_digest(payload: Mapping[str, Any]) -> str:
    """A digest of what was asked for, so a key reused for another request is caught."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_key_check(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > 100:
        raise IdempotencyKeyInvalid()


def order_existing(buyer: User, idempotency_key: str, digest: str) -> Order | None:
    """The order an earlier copy of this request made, if any."""
    order = Order.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
    if order is not None and order.request_digest != digest:
        raise IdempotencyKeyReused()
    return order


# --- Taking inventory --------------------------------------------------------------------------


def inventory_admit(
    buyer: User, event_id: Any, wanted: dict[str, int], idempotency_key: str, digest: str
) -> tuple[dict[str, int] | None, Order | None]:
    """Take from the Redis gate: (what it took, None), or (None, the order an earlier copy of
    this request made). SOLD_OUT from Redis alone once a tier is gone, never for a replay.

    Once a second per event the gate elects a refused buyer to release holds that lapsed
    unreleased (the beat job may lag); if that frees tickets, the buyer asks again.
    """
    for attempt in (1, 2):
        try:
            return gate_take(event_id, wanted, request=idempotency_key), None
        except GateShort as short:
            if attempt == 2 or not (short.elected and orders_release_expired(event_id=event_id)):
                existing = order_existing(buyer, idempotency_key, digest)
                if existing is not None:
                    return None, existing
                raise SoldOut(**short.details) from None
    raise AssertionError("unreachable")


def inventory_claim(tier_id: Any, quantity: int) -> bool:
    """Take `quantity` of a tier in one conditional UPDATE; False when not enough remain."""
    if switch_on("inventory_unlocked"):
        # Test-only negative control: check, pause, then write without a condition.
        fresh = TicketTier.objects.get(pk=tier_id)
        if fresh.sold_count + quantity > fresh.capacity:
            return False
        time.sleep(0.05)
        TicketTier.objects.filter(pk=tier_id).update(sold_count=fresh.sold_count + quantity)
        return True
    return bool(
        TicketTier.objects.filter(pk=tier_id, sold_count__lte=F("capacity") - quantity).update(
            sold_count=F("sold_count") + quantity
        )
    )


# --- Opening an order --------------------------------------------------------------------------


def order_open(
    *,
    buyer: User,
    event: Event,
    lines: Sequence[tuple[TicketTier, int]],
    expires_at: datetime,
    idempotency_key: str,
    digest: str,
    seat_ids: Sequence[Any] = (),
    unit_prices: Mapping[str, Decimal] | None = None,
) -> Order:
    """A pending order with its lines (and its seats held); inventory is the caller's.

    `unit_prices` (tier id -> price per ticket, from `order_hold`'s pricing) default to the
    tiers' list prices.
    """

    def price(tier: TicketTier) -> Decimal:
        return unit_prices[str(tier.pk)] if unit_prices is not None else tier.price

    order = Order.objects.create(
        buyer=buyer,
        event=event,
        currency=event.currency,
        total=sum((price(tier) * quantity for tier, quantity in lines), Decimal("0")),
        expires_at=expires_at,
        idempotency_key=idempotency_key,
        request_digest=digest,
        seat_ids=list(seat_ids),
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, tier=tier, quantity=quantity, unit_price=price(tier))
        for tier, quantity in sorted(lines, key=lambda line: str(line[0].pk))
    )
    if seat_ids:
        EventSeat.objects.filter(pk__in=list(seat_ids)).update(order=order)
    return order


def order_hold(
    *,
    buyer: User,
    event: Event,
    tiers: Mapping[str, TicketTier],
    wanted: Mapping[str, int],
    idempotency_key: str,
    digest: str,
    now: datetime,
    seat_ids: Sequence[Any] = (),
    voucher: Voucher | None = None,
) -> Order:
    """Check the sale's rules, open the order and take its inventory, all or nothing.

    Inside the caller's transaction and `busy_on_lock_timeout`. The order row comes first: a
    concurrent copy of this idempotency key waits on its unique index instead of taking
    inventory it would have to give back. Inventory last, in tier-id order: the hot row is
    locked only until the commit that follows, and two mixed orders never deadlock.
    """
    sale_rules_check(event=event, tiers=tiers, wanted=wanted, now=now)
    # The one place an order's price is made: list prices, or the voucher's (which also
    # refuses tiers sold only with a code that names them).
    pricing = order_pricing(tiers=tiers, wanted=wanted, voucher=voucher)
    if event.max_per_buyer is not None:
        buyer_limit_check(buyer=buyer, event=event, adding=sum(wanted.values()), now=now)
    order = order_open(
        buyer=buyer,
        event=event,
        lines=[(tiers[tier_id], quantity) for tier_id, quantity in wanted.items()],
        expires_at=now + timedelta(minutes=event.hold_minutes),
        idempotency_key=idempotency_key,
        digest=digest,
        seat_ids=seat_ids,
        unit_prices=pricing.unit_prices,
    )
    if voucher is not None:
        # Counted once, in this transaction, so the last use goes to one order; before the
        # inventory, so the hot tier row is not held while the code's row is waited for.
        voucher_redeem(voucher=voucher, order_id=order.pk, buyer=buyer, discount=pricing.discount)
    for tier_id in sorted(wanted):
        # With seats: seats and counts move together; a tier whose count says "full" with a
        # free seat in hand means the two drifted, and the count (the CHECK) wins.
        if not inventory_claim(tier_id, wanted[tier_id]):
            raise SoldOut(
                _("Not enough %(tier)s tickets left.") % {"tier": tiers[tier_id].name},
                tier_id=tier_id,
            )
    return order


def sale_rules_check(
    *, event: Event, tiers: Mapping[str, TicketTier], wanted: Mapping[str, int], now: datetime
) -> None:
    if event.status != Event.Status.PUBLISHED or event.ends_at <= now:
        raise SalesClosed()
    for tier_id, quantity in wanted.items():
        tier = tiers[tier_id]
        if not tier.on_sale_at(now):
            raise SalesClosed(_("%(tier)s is not on sale right now.") % {"tier": tier.name})
        if quantity > tier.max_per_order:
            raise QuantityLimit(
                _("At most %(count)s × %(tier)s per order.")
                % {"count": tier.max_per_order, "tier": tier.name}
            )


def buyer_limit_check(*, buyer: User, event: Event, adding: int, now: datetime) -> None:
    """Per-buyer maximum per event; serialised per (event, buyer) by an advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{event.pk}:{buyer.pk}"]
        )
    live = Q(order__status=Order.Status.PAID) | Q(
        order__status=Order.Status.PENDING, order__expires_at__gt=now
    )
    held = (
        OrderLine.objects.filter(live, order__buyer=buyer, order__event=event).aggregate(
            n=Sum("quantity")
        )["n"]
        or 0
    )
    if held + adding > (event.max_per_buyer or 0):
        raise QuantityLimit(
            _("At most %(limit)s tickets per person for this event; you have %(held)s.")
            % {"limit": event.max_per_buyer, "held": held},
            limit=event.max_per_buyer,
            held=held,
        )


# --- Releasing ---------------------------------------------------------------------------------


def order_release(order: Order, status: str) -> None:
    """Give a held order's tickets back; the caller holds the order's row lock."""
    lines = list(order.lines.order_by("tier_id").values_list("tier_id", "quantity"))
    # Back on sale and to the gate, or set aside for the waitlist (booking.releases).
    seats_return(event_id=order.event_id, lines=lines, seat_ids=order.seat_ids)
    voucher_release(order_id=order.pk)  # its voucher code's use too
    order.status = status
    order.save(update_fields=["status"])


def order_reclaim(order: Order, hold_minutes: int) -> bool:
    """Hold a released order's tickets again if all remain; the caller holds the row lock."""
    with transaction.atomic():  # a savepoint: all lines (and all seats) or none
        for tier_id, quantity in order.lines.order_by("tier_id").values_list("tier_id", "quantity"):
            if not inventory_claim(tier_id, quantity):
                transaction.set_rollback(True)
                return False
        if order.seat_ids:
            seats = EventSeat.objects.filter(pk__in=order.seat_ids, order=None, blocked=False)
            if seats.update(order=order) != len(order.seat_ids):
                transaction.set_rollback(True)
                return False
        if not voucher_reclaim(order_id=order.pk):  # held again at its price, or not at all
            transaction.set_rollback(True)
            return False
    order.status = Order.Status.PENDING
    order.expires_at = timezone.now() + timedelta(minutes=hold_minutes)
    order.save(update_fields=["status", "expires_at"])
    return True


def orders_release_expired(*, event_id: Any = None, limit: int = 500) -> int:
    """Release holds whose time ran out (all events, or one); returns how many orders."""
    released = 0
    while True:
        with transaction.atomic(durable=True):
            expired = Order.objects.filter(
                status=Order.Status.PENDING, expires_at__lte=timezone.now()
            )
            if event_id is not None:
                expired = expired.filter(event_id=event_id)
            batch = list(expired.select_for_update(skip_locked=True).order_by("expires_at")[:limit])
            for order in batch:
                order_release(order, Order.Status.EXPIRED)
        released += len(batch)
        if len(batch) < limit:
            return released


# --- Issuing tickets ---------------------------------------------------------------------------

SEAT_LABEL_FIELDS = ("id", "tier_id", "section", "row", "number")


def ticket_plan(
    lines: Sequence[tuple[Any, int]], seats: Sequence[tuple[Any, Any, str]]
) -> list[tuple[Any, Any, str]]:
    """(tier, seat, seat label) per ticket: one per seat for assigned seating, else per line."""
    if seats:
        return [(tier_id, seat_id, label) for seat_id, tier_id, label in seats]
    return [(tier_id, None, "") for tier_id, quantity in lines for _ in range(quantity)]


def tickets_build(
    *,
    order_id: Any,
    event_id: Any,
    holder: User,
    plan: Sequence[tuple[Any, Any, str]],
    issued_at: datetime | None = None,
    names: Sequence[str] = (),
    answers: Sequence[dict[str, str]] = (),
) -> list[Ticket]:
    """Unsaved valid tickets for `holder`, each with its signed QR payload.

    `names`: the attendee on each ticket, in plan order, as given at checkout; a blank or
    missing one is the holder's name. `answers`: the attendee questions' answers, likewise.
    """
    signer = ticket_signer()
    key = signer.key_for(event_id)
    tickets = []
    for index, (tier_id, seat_id, label) in enumerate(plan):
        ticket = Ticket(
            id=uuid.uuid4(),
            order_id=order_id,
            event_id=event_id,
            tier_id=tier_id,
            seat_id=seat_id,
            holder=holder,
            attendee_name=(names[index] if index < len(names) else "") or holder.display_name,
            answers=answers[index] if index < len(answers) else {},
        )
        if issued_at is not None:  # else the database row's own insert time
            ticket.issued_at = issued_at
        ticket.qr_payload = signer.sign(ticket, key=key, seat_label=label)
        tickets.append(ticket)
    return tickets


def tickets_issue(order: Order) -> list[Ticket]:
    """Issue a paid order's tickets to its buyer, in the caller's transaction."""
    seats = [
        (seat.pk, seat.tier_id, seat.label)
        for seat in order.seats.order_by("pk").only(*SEAT_LABEL_FIELDS)
    ]
    lines = list(order.lines.order_by("tier_id").values_list("tier_id", "quantity"))
    return Ticket.objects.bulk_create(
        tickets_build(
            order_id=order.pk,
            event_id=order.event_id,
            holder=order.buyer,
            plan=ticket_plan(lines, seats),
            names=order.attendee_names,
            answers=order.attendee_answers,
        )
    )
