import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from checkin.signing import ticket_payload_sign
from config.errors import Busy, NotFound
from events.models import Event, TicketTier
from ticketing.errors import (
    HoldExpired,
    IdempotencyKeyReused,
    OrderNotPayable,
    PaymentDeclined,
    QuantityLimit,
    SalesClosed,
    SoldOut,
    UnknownTier,
)
from ticketing.models import Order, OrderLine, Payment, Ticket
from ticketing.payments import get_provider
from ticketing.signals import order_confirmed

LOCK_TIMEOUT = "3s"


def _request_digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _normalise_items(items: Iterable[tuple[Any, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for tier_id, quantity in items:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise QuantityLimit("Quantity must be a whole number of at least 1.")
        try:  # one spelling per tier: the lookup below and the request digest depend on it
            key = str(uuid.UUID(str(tier_id)))
        except ValueError as exc:
            raise UnknownTier() from exc
        merged[key] = merged.get(key, 0) + quantity
    if not merged:
        raise QuantityLimit("Choose at least one ticket.")
    return merged


def _claim(tier: TicketTier, quantity: int) -> bool:
    """Take `quantity` of `tier` in one conditional UPDATE; False when not enough remain."""
    if getattr(settings, "BOXOFFICE_TEST_UNSAFE_INVENTORY", False):
        # Test-only negative control: check, pause, then write without a condition.
        fresh = TicketTier.objects.get(pk=tier.pk)
        if fresh.sold_count + quantity > fresh.capacity:
            return False
        time.sleep(0.05)
        TicketTier.objects.filter(pk=tier.pk).update(sold_count=fresh.sold_count + quantity)
        return True
    return bool(
        TicketTier.objects.filter(pk=tier.pk, sold_count__lte=F("capacity") - quantity).update(
            sold_count=F("sold_count") + quantity
        )
    )


def _existing_order(buyer: User, idempotency_key: str, digest: str) -> Order | None:
    order = Order.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
    if order is not None and order.request_digest != digest:
        raise IdempotencyKeyReused()
    return order


def order_reserve(
    *, buyer: User, event: Event, items: Iterable[tuple[Any, int]], idempotency_key: str
) -> Order:
    """Hold the requested tickets for `buyer` until the hold expires; same key, same order."""
    if not idempotency_key or len(idempotency_key) > 100:
        raise QuantityLimit("An idempotency key of 1 to 100 characters is required.")
    wanted = _normalise_items(items)
    digest = _request_digest({"event": str(event.pk), "items": wanted})
    existing = _existing_order(buyer, idempotency_key, digest)
    if existing is not None:
        return existing
    try:
        return _reserve(
            buyer=buyer, event=event, wanted=wanted, idempotency_key=idempotency_key, digest=digest
        )
    except IntegrityError:
        # A concurrent copy with the same key committed first: answer with its order.
        existing = _existing_order(buyer, idempotency_key, digest)
        if existing is None:
            raise
        return existing


@transaction.atomic(durable=True)
def _reserve(
    *, buyer: User, event: Event, wanted: dict[str, int], idempotency_key: str, digest: str
) -> Order:
    now = timezone.now()
    tiers = {str(t.pk): t for t in TicketTier.objects.filter(event=event, pk__in=list(wanted))}
    if len(tiers) != len(wanted):
        raise UnknownTier()
    if event.status != Event.Status.PUBLISHED or event.ends_at <= now:
        raise SalesClosed()
    for tier_id, quantity in wanted.items():
        tier = tiers[tier_id]
        if not tier.on_sale_at(now):
            raise SalesClosed(f"{tier.name} is not on sale right now.")
        if quantity > tier.max_per_order:
            raise QuantityLimit(f"At most {tier.max_per_order} × {tier.name} per order.")
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    # The order row first: a concurrent copy of this idempotency key waits on its unique index
    # here instead of taking inventory it would then have to give back.
    order = Order.objects.create(
        buyer=buyer,
        event=event,
        currency=event.currency,
        expires_at=now + timedelta(minutes=event.hold_minutes),
        idempotency_key=idempotency_key,
        request_digest=digest,
    )
    total = Decimal("0")
    try:
        # Fixed order (ids ascending) so two mixed orders can never deadlock.
        for tier_id in sorted(wanted):
            tier, quantity = tiers[tier_id], wanted[tier_id]
            if not _claim(tier, quantity):
                raise SoldOut(f"Not enough {tier.name} tickets left.", tier_id=tier_id)
            OrderLine.objects.create(
                order=order, tier=tier, quantity=quantity, unit_price=tier.price
            )
            total += tier.price * quantity
    except Exception as exc:
        if "lock timeout" in str(exc):
            raise Busy() from exc
        raise
    order.total = total
    order.save(update_fields=["total"])
    return order


def _release(order: Order, status: str) -> None:
    """Give an unpaid order's tickets back; the caller holds the order's row lock."""
    for line in order.lines.order_by("tier_id"):
        TicketTier.objects.filter(pk=line.tier_id).update(
            sold_count=F("sold_count") - line.quantity
        )
    order.status = status
    order.save(update_fields=["status"])


@dataclass(frozen=True)
class PaymentOutcome:
    order: Order
    tickets: list[Ticket]


def order_pay(
    *, buyer: User, order_id: Any, idempotency_key: str, source: str = "4242424242424242"
) -> PaymentOutcome:
    """Charge a held order and issue its tickets; a paid order answers with its tickets."""
    if not idempotency_key or len(idempotency_key) > 100:
        raise OrderNotPayable("An idempotency key of 1 to 100 characters is required.")
    started = _payment_start(buyer=buyer, order_id=order_id, idempotency_key=idempotency_key)
    if isinstance(started, PaymentOutcome):
        return started
    if started is None:
        raise HoldExpired()
    result = get_provider(started.provider).charge(
        amount=started.amount,
        currency=started.currency,
        source=source,
        idempotency_key=f"{started.order_id}:{started.idempotency_key}",
    )
    outcome = _payment_finish(
        payment_id=started.pk,
        succeeded=result.succeeded,
        charge_id=result.charge_id,
        decline_code=result.decline_code,
    )
    if outcome.order.status != Order.Status.PAID:
        raise PaymentDeclined(decline_code=result.decline_code)
    return outcome


@transaction.atomic(durable=True)
def _payment_start(
    *, buyer: User, order_id: Any, idempotency_key: str
) -> Payment | PaymentOutcome | None:
    """The payment to charge, the outcome of an already paid order, or None: hold expired."""
    try:
        order = Order.objects.select_for_update().get(pk=order_id, buyer=buyer)
    except (Order.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise NotFound("No such order.") from exc
    if order.status == Order.Status.PAID:
        return PaymentOutcome(order=order, tickets=list(order.tickets.all()))
    if order.status == Order.Status.EXPIRED:
        return None
    if order.status != Order.Status.PENDING:
        raise OrderNotPayable()
    if order.expires_at <= timezone.now():
        # Released and committed here; the caller raises HOLD_EXPIRED.
        _release(order, Order.Status.EXPIRED)
        return None
    payment, _ = Payment.objects.get_or_create(
        order=order,
        idempotency_key=idempotency_key,
        defaults={
            "provider": settings.PAYMENT_PROVIDER,
            "amount": order.total,
            "currency": order.currency,
        },
    )
    return payment


@transaction.atomic(durable=True)
def _payment_finish(
    *, payment_id: Any, succeeded: bool, charge_id: str, decline_code: str
) -> PaymentOutcome:
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    if order.status == Order.Status.PAID:
        return PaymentOutcome(order=order, tickets=list(order.tickets.all()))
    payment.provider_charge_id = charge_id
    if not succeeded:
        payment.status, payment.failure_code = Payment.Status.FAILED, decline_code
        payment.save(update_fields=["status", "failure_code", "provider_charge_id", "updated_at"])
        if order.status == Order.Status.PENDING:
            _release(order, Order.Status.CANCELLED)
        return PaymentOutcome(order=order, tickets=[])
    payment.status = Payment.Status.SUCCEEDED
    payment.save(update_fields=["status", "provider_charge_id", "updated_at"])
    order.status, order.paid_at = Order.Status.PAID, timezone.now()
    order.save(update_fields=["status", "paid_at"])
    tickets = _issue_tickets(order)
    transaction.on_commit(lambda: order_confirmed.send(sender=Order, order_id=order.pk))
    return PaymentOutcome(order=order, tickets=tickets)


def _issue_tickets(order: Order) -> list[Ticket]:
    buyer = order.buyer
    tickets = [
        Ticket(
            order=order,
            event_id=order.event_id,
            tier=line.tier,
            holder=buyer,
            attendee_name=buyer.display_name,
        )
        for line in order.lines.select_related("tier").order_by("tier_id")
        for _ in range(line.quantity)
    ]
    for ticket in tickets:
        ticket.qr_payload = ticket_payload_sign(ticket)
    return Ticket.objects.bulk_create(tickets)


def orders_release_expired(*, limit: int = 500) -> int:
    """Release holds whose time ran out; returns how many orders were released."""
    released = 0
    while True:
        with transaction.atomic(durable=True):
            batch = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(status=Order.Status.PENDING, expires_at__lte=timezone.now())
                .order_by("expires_at")[:limit]
            )
            for order in batch:
                _release(order, Order.Status.EXPIRED)
        released += len(batch)
        if len(batch) < limit:
            return released
