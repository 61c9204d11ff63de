"""Booking: holds on inventory, payment as a saga, tickets.

Inventory truth is `TicketTier.sold_count` (held + sold), changed only by a conditional UPDATE
in tier-id order, under `CHECK (sold_count <= capacity)`. The Redis gate
(ticketing.booking.gate) turns the rush away before PostgreSQL once a tier is gone.

Paying is three steps, so no database lock is held while the processor thinks:
  1. `_payment_start`: lock the order, record a pending Payment (committed);
  2. the processor's charge, idempotent on the Payment's own key;
  3. `_payment_finish`: lock the order, confirm and issue tickets, or release the hold.
A charge whose answer was lost stays pending and is settled by `payments_reconcile` (Celery
beat) or the processor's webhook: the buyer ends with tickets or a refund, never neither.
"""

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg.errors
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from accounts.models import User
from checkin.signing import current_signing_key, ticket_payload_sign
from core.errors import Busy, NotFound
from core.ids import is_uuid
from events.models import Event, TicketTier
from ticketing.booking import hotpath
from ticketing.booking.gate import GateShort, gate_give, gate_sync, gate_take
from ticketing.booking.releases import seats_return
from ticketing.errors import (
    HoldExpired,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    OrderNotPayable,
    PaymentDeclined,
    PaymentInProgress,
    PaymentPending,
    QuantityLimit,
    SalesClosed,
    SoldOut,
    UnknownTier,
)
from ticketing.models import EventSeat, Order, OrderLine, Payment, Ticket
from ticketing.payments import ChargeResult, ProviderUnavailable, get_provider
from ticketing.signals import order_confirmed
from vouchers.errors import VoucherInvalid
from vouchers.models import VoucherRedemption
from vouchers.services import (
    code_normalise,
    order_pricing,
    voucher_find,
    voucher_reclaim,
    voucher_redeem,
    voucher_release,
)

logger = logging.getLogger(__name__)

LOCK_TIMEOUT = "3s"
REFUNDED_MESSAGE = "Your reservation expired before the payment arrived, so it was refunded."
# A payment still unanswered after this long is asked about before another may start.
STALE_PAYMENT = timedelta(seconds=15)


# --- Shared helpers --------------------------------------------------------------------------


def _request_digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _check_key(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > 100:
        raise IdempotencyKeyInvalid()


@contextmanager
def _busy_on_lock_timeout() -> Iterator[None]:
    """Inside a transaction: wait at most LOCK_TIMEOUT for row locks, then answer BUSY."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        yield
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise Busy() from exc
        raise


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


def _claim(tier_id: Any, quantity: int) -> bool:
    """Take `quantity` of a tier in one conditional UPDATE; False when not enough remain."""
    if getattr(settings, "BOXOFFICE_TEST_UNSAFE_INVENTORY", False):
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


def _release(order: Order, status: str) -> None:
    """Give a held order's tickets back; the caller holds the order's row lock."""
    lines = list(order.lines.order_by("tier_id").values_list("tier_id", "quantity"))
    # Back on sale and to the gate, or set aside for the waitlist (ticketing.booking.releases).
    seats_return(event_id=order.event_id, lines=lines, seat_ids=order.seat_ids)
    voucher_release(order_id=order.pk)  # its voucher code's use too
    order.status = status
    order.save(update_fields=["status"])


def _reclaim(order: Order, hold_minutes: int) -> bool:
    """Hold a released order's tickets again if all remain; the caller holds the row lock."""
    with transaction.atomic():  # a savepoint: all lines (and all seats) or none
        for tier_id, quantity in order.lines.order_by("tier_id").values_list("tier_id", "quantity"):
            if not _claim(tier_id, quantity):
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


# --- Reserving -------------------------------------------------------------------------------


def order_reserve(
    *,
    buyer: User,
    event_id: Any,
    items: Iterable[tuple[Any, int]],
    idempotency_key: str,
    voucher: str = "",
) -> Order:
    """Hold the requested tickets for `buyer` until the hold expires; same key, same order.

    `voucher` is a code: its discount prices the order, and it unlocks hidden tiers.
    """
    _check_key(idempotency_key)
    wanted = _normalise_items(items)
    request: dict[str, Any] = {"event": str(event_id), "items": wanted}
    voucher = code_normalise(voucher)
    if voucher:
        request["voucher"] = voucher
    digest = _request_digest(request)
    try:
        taken = _admit(event_id, wanted, request=idempotency_key)
    except SoldOut:
        # A replay of a request that got its order is answered with it, never SOLD_OUT.
        existing = _existing_order(buyer, idempotency_key, digest)
        if existing is not None:
            return existing
        raise
    try:
        # The test-only unsafe inventory switch must reach `_claim`, so it skips the hot path;
        # so does a voucher, which the hot path does not price.
        if (
            len(wanted) == 1
            and not voucher
            and not getattr(settings, "BOXOFFICE_TEST_UNSAFE_INVENTORY", False)
        ):
            [(tier_id, quantity)] = wanted.items()
            placed = hotpath.order_place(
                buyer=buyer,
                event_id=event_id,
                tier_id=tier_id,
                quantity=quantity,
                idempotency_key=idempotency_key,
                digest=digest,
                now=timezone.now(),
            )
            if placed is not None:
                return placed
        existing = _existing_order(buyer, idempotency_key, digest)
        if existing is not None:
            gate_give(event_id, taken)
            return existing
        return _reserve_once(buyer, event_id, wanted, idempotency_key, digest, taken, voucher)
    except SoldOut:
        gate_give(event_id, taken)
        # Holds that expired but were not yet released are tickets too: release, try again.
        if orders_release_expired(event_id=event_id):
            try:
                return _reserve_once(
                    buyer, event_id, wanted, idempotency_key, digest, None, voucher
                )
            except SoldOut:
                pass
        gate_sync(event_ids=[event_id])  # the gate let this through, so it ran high
        raise
    except BaseException:
        gate_give(event_id, taken)
        raise


def _admit(event_id: Any, wanted: dict[str, int], *, request: str) -> dict[str, int] | None:
    """Take from the gate: SOLD_OUT from Redis alone once a tier is gone.

    Once a second per event the gate elects a refused buyer to release holds that lapsed
    unreleased (the beat job may lag); if that frees tickets, the buyer asks again.
    """
    for attempt in (1, 2):
        try:
            return gate_take(event_id, wanted, request=request)
        except GateShort as short:
            if attempt == 2 or not (short.elected and orders_release_expired(event_id=event_id)):
                raise SoldOut(**short.details) from None
    raise AssertionError("unreachable")


def _existing_order(buyer: User, idempotency_key: str, digest: str) -> Order | None:
    order = Order.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
    if order is not None and order.request_digest != digest:
        raise IdempotencyKeyReused()
    return order


def _reserve_once(
    buyer: User,
    event_id: Any,
    wanted: dict[str, int],
    idempotency_key: str,
    digest: str,
    taken: dict[str, int] | None,
    voucher: str,
) -> Order:
    try:
        return _reserve(buyer, event_id, wanted, idempotency_key, digest, voucher)
    except IntegrityError:
        # A concurrent copy with the same key committed first: answer with its order, and
        # give back this copy's admission, which took no tickets (else the gate runs low).
        existing = _existing_order(buyer, idempotency_key, digest)
        if existing is None:
            raise
        gate_give(event_id, taken)
        return existing


@transaction.atomic(durable=True)
def _reserve(
    buyer: User,
    event_id: Any,
    wanted: dict[str, int],
    idempotency_key: str,
    digest: str,
    voucher_code: str,
) -> Order:
    now = timezone.now()
    try:
        tiers = {
            str(t.pk): t
            for t in TicketTier.objects.select_related("event").filter(
                event_id=event_id, pk__in=list(wanted)
            )
        }
    except ValidationError as exc:
        raise NotFound("No such event.") from exc
    if not tiers and not Event.objects.filter(pk=event_id).exclude(status="draft").exists():
        raise NotFound("No such event.")
    if len(tiers) != len(wanted):
        raise UnknownTier()
    event = next(iter(tiers.values())).event
    if event.status == Event.Status.DRAFT:  # drafts do not exist for the public
        raise NotFound("No such event.")
    if event.status != Event.Status.PUBLISHED or event.ends_at <= now:
        raise SalesClosed()
    for tier_id, quantity in wanted.items():
        tier = tiers[tier_id]
        if not tier.on_sale_at(now):
            raise SalesClosed(f"{tier.name} is not on sale right now.")
        if quantity > tier.max_per_order:
            raise QuantityLimit(f"At most {tier.max_per_order} × {tier.name} per order.")
    # The one place an order's price is made: list prices, or the voucher's.
    voucher = voucher_find(event_id=event.pk, code=voucher_code, now=now) if voucher_code else None
    pricing = order_pricing(tiers=tiers, wanted=wanted, voucher=voucher)
    with _busy_on_lock_timeout():
        if event.max_per_buyer is not None:
            _check_buyer_limit(buyer, event, sum(wanted.values()), now)
        # The order row first: a concurrent copy of this idempotency key waits on its unique
        # index here instead of taking inventory it would then have to give back.
        order = Order.objects.create(
            buyer=buyer,
            event=event,
            currency=event.currency,
            total=pricing.total,
            expires_at=now + timedelta(minutes=event.hold_minutes),
            idempotency_key=idempotency_key,
            request_digest=digest,
        )
        OrderLine.objects.bulk_create(
            OrderLine(order=order, tier=tiers[t], quantity=q, unit_price=pricing.unit_prices[t])
            for t, q in sorted(wanted.items())
        )
        if voucher is not None:
            # Counted once, in this transaction, so the last use goes to one order; before the
            # inventory, so the hot tier row is not held while the code's row is waited for.
            voucher_redeem(
                voucher=voucher, order_id=order.pk, buyer=buyer, discount=pricing.discount
            )
        # Inventory last, in tier-id order: the hot row is locked only until the commit that
        # follows, and two mixed orders can never deadlock.
        for tier_id in sorted(wanted):
            if not _claim(tier_id, wanted[tier_id]):
                raise SoldOut(f"Not enough {tiers[tier_id].name} tickets left.", tier_id=tier_id)
    return order


def _check_buyer_limit(buyer: User, event: Event, adding: int, now: datetime) -> None:
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
            f"At most {event.max_per_buyer} tickets per person for this event; you have {held}."
        )


@transaction.atomic(durable=True)
def order_voucher_apply(*, buyer: User, order_id: Any, code: str) -> Order:
    """Price the buyer's held order with a voucher code (its use counted now)."""
    order = _held_order_locked(buyer, order_id)
    if VoucherRedemption.objects.filter(order=order, released_at=None).exists():
        raise VoucherInvalid("This order already has a voucher code.")
    lines = list(order.lines.select_related("tier"))
    tiers = {str(line.tier_id): line.tier for line in lines}
    wanted = {str(line.tier_id): line.quantity for line in lines}
    voucher = voucher_find(event_id=order.event_id, code=code, now=timezone.now())
    pricing = order_pricing(tiers=tiers, wanted=wanted, voucher=voucher)
    with _busy_on_lock_timeout():
        voucher_redeem(voucher=voucher, order_id=order.pk, buyer=buyer, discount=pricing.discount)
    for line in lines:
        line.unit_price = pricing.unit_prices[str(line.tier_id)]
    OrderLine.objects.bulk_update(lines, ["unit_price"])
    order.total = pricing.total
    order.save(update_fields=["total"])
    return order


@transaction.atomic(durable=True)
def order_attendees_set(*, buyer: User, order_id: Any, names: list[str]) -> Order:
    """Name the tickets of the buyer's held order (in ticket order) before it is paid."""
    order = _held_order_locked(buyer, order_id)
    count = sum(order.lines.values_list("quantity", flat=True))
    cleaned = [" ".join(name.split())[:150] for name in names]
    if len(cleaned) > count:
        raise QuantityLimit(f"This order has {count} tickets.")
    order.attendee_names = cleaned
    order.save(update_fields=["attendee_names"])
    return order


def _held_order_locked(buyer: User, order_id: Any) -> Order:
    """The buyer's pending order whose hold still runs, locked; no payment may be in flight."""
    try:
        order = Order.objects.select_for_update(of=("self",)).get(pk=order_id, buyer=buyer)
    except (Order.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound("No such order.") from exc
    if order.status != Order.Status.PENDING:
        raise OrderNotPayable("This order can no longer be changed.")
    if order.expires_at <= timezone.now():
        raise HoldExpired(rereserved=False, expires_at=order.expires_at.isoformat())
    if Payment.objects.filter(order=order, status=Payment.Status.PENDING).exists():
        raise PaymentInProgress()
    return order


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
                _release(order, Order.Status.EXPIRED)
        released += len(batch)
        if len(batch) < limit:
            return released


# --- Paying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentOutcome:
    order: Order
    tickets: list[Ticket]

    @property
    def paid(self) -> bool:
        return self.order.status == Order.Status.PAID


@dataclass(frozen=True)
class _HoldLapsed:
    rereserved: bool
    expires_at: datetime


def order_pay(
    *, buyer: User, order_id: Any, idempotency_key: str, source: str = "4242424242424242"
) -> PaymentOutcome:
    """Charge a held order and issue its tickets; a paid order answers with its tickets."""
    _check_key(idempotency_key)
    digest = _request_digest(
        {"order": str(order_id), "source": hashlib.sha256(source.encode()).hexdigest()}
    )
    started: Payment | hotpath.StartedPayment | None = hotpath.payment_start(
        buyer=buyer,
        order_id=order_id,
        idempotency_key=idempotency_key,
        digest=digest,
        provider=settings.PAYMENT_PROVIDER,
        now=timezone.now(),
    )
    if started is None:
        checked = _payment_start_checked(
            buyer=buyer, order_id=order_id, idempotency_key=idempotency_key, digest=digest
        )
        if isinstance(checked, PaymentOutcome):
            return checked
        started = checked
    provider = get_provider(started.provider)
    try:
        result: ChargeResult | None = provider.charge(
            amount=started.amount,
            currency=started.currency,
            source=source,
            idempotency_key=started.provider_key,
        )
    except ProviderUnavailable:
        result = _find_charge(started.provider, started.provider_key)
    if result is None:
        _payment_unanswered(payment_id=started.pk)
        raise PaymentPending()
    outcome = None
    if result.succeeded and isinstance(started, hotpath.StartedPayment):
        outcome = _payment_finish_at_once(buyer=buyer, started=started, charge_id=result.charge_id)
    if outcome is None:
        outcome = _payment_finish(payment_id=started.pk, order_id=started.order_id, result=result)
    if outcome.paid:
        return outcome
    if result.succeeded:  # charged after the tickets were gone: refunded
        raise HoldExpired(REFUNDED_MESSAGE, rereserved=False, refunded=True)
    raise PaymentDeclined(decline_code=result.decline_code)


def _payment_start_checked(
    *, buyer: User, order_id: Any, idempotency_key: str, digest: str
) -> Payment | PaymentOutcome:
    """The reference path's payment to charge, or a paid order's outcome; a lapse is raised."""
    try:
        started = _payment_start(
            buyer=buyer, order_id=order_id, idempotency_key=idempotency_key, digest=digest
        )
    except PaymentInProgress:
        # Perhaps an earlier attempt whose answer never came: settle it, then try once more.
        if not _settle_stale_payments(order_id=order_id, buyer=buyer):
            raise
        started = _payment_start(
            buyer=buyer, order_id=order_id, idempotency_key=idempotency_key, digest=digest
        )
    except IntegrityError as exc:  # a concurrent payment of this order won the race
        raise PaymentInProgress() from exc
    if isinstance(started, _HoldLapsed):
        raise HoldExpired(rereserved=started.rereserved, expires_at=started.expires_at.isoformat())
    return started


def _payment_finish_at_once(
    *, buyer: User, started: hotpath.StartedPayment, charge_id: str
) -> PaymentOutcome | None:
    """The rush case of `_payment_finish`: one statement, or None if the order moved on."""
    now = timezone.now()
    key = current_signing_key(started.event_id)
    tickets = []
    plan = ticket_plan(started.lines, started.seats)
    for index, (tier_id, seat_id, label) in enumerate(plan):
        ticket = Ticket(
            id=uuid.uuid4(),
            order_id=started.order_id,
            event_id=started.event_id,
            tier_id=tier_id,
            seat_id=seat_id,
            holder=buyer,
            attendee_name=attendee_name(started.attendee_names, index, buyer),
            issued_at=now,
        )
        ticket.qr_payload = ticket_payload_sign(ticket, key=key, seat_label=label)
        tickets.append(ticket)
    try:
        with transaction.atomic(durable=True):
            if not hotpath.payment_finish(
                buyer=buyer,
                started=started,
                charge_id=charge_id,
                tickets=[
                    (t.pk, t.tier_id, t.seat_id, t.qr_payload, t.attendee_name) for t in tickets
                ],
                now=now,
            ):
                return None
            # In the transaction, like the reference path: listeners write their outbox rows.
            order_confirmed.send(sender=Order, order_id=started.order_id)
    except DatabaseError:  # e.g. a deadlock with a reconciliation: the reference path decides
        return None
    order = Order(
        id=started.order_id,
        buyer=buyer,
        event_id=started.event_id,
        status=Order.Status.PAID,
        total=started.amount,
        currency=started.currency,
        paid_at=now,
    )
    # In the order the reference path reads them back: issued together, so by id.
    return PaymentOutcome(order=order, tickets=sorted(tickets, key=lambda t: t.pk))


def _settle_stale_payments(*, order_id: Any, buyer: User) -> bool:
    """Settle or give up this order's long-unanswered payments; True if there were any."""
    try:
        stale = list(
            Payment.objects.filter(
                order_id=order_id,
                buyer=buyer,
                status=Payment.Status.PENDING,
                updated_at__lte=timezone.now() - STALE_PAYMENT,
            ).values_list("pk", flat=True)
        )
    except ValidationError:
        return False
    for payment_id in stale:
        try:
            settled = payment_reconcile(payment_id=payment_id)
        except ProviderUnavailable:
            continue  # no word either way: it stays pending, so this attempt must wait
        if settled is None:
            # The processor has no charge for it: it never happened. A late charge would
            # still be settled by the processor's webhook (tickets or a refund).
            Payment.objects.filter(pk=payment_id, status=Payment.Status.PENDING).update(
                status=Payment.Status.FAILED, failure_code="no_answer", updated_at=timezone.now()
            )
    return bool(stale)


def _find_charge(provider: str, provider_key: str) -> ChargeResult | None:
    try:
        return get_provider(provider).find_charge(idempotency_key=provider_key)
    except ProviderUnavailable:
        return None


def _outcome(order: Order) -> PaymentOutcome:
    return PaymentOutcome(order=order, tickets=list(order.tickets.order_by("issued_at", "id")))


@transaction.atomic(durable=True)
def _payment_start(
    *, buyer: User, order_id: Any, idempotency_key: str, digest: str
) -> Payment | PaymentOutcome | _HoldLapsed:
    """The payment to charge, a paid order's outcome, or word that the hold lapsed."""
    try:
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("event")
            .get(pk=order_id, buyer=buyer)
        )
    except (Order.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise NotFound("No such order.") from exc
    # Looked up under the order's lock, so concurrent copies of one request line up here.
    related = list(
        Payment.objects.filter(
            Q(buyer=buyer, idempotency_key=idempotency_key)
            | Q(order=order, status=Payment.Status.PENDING)
        )
    )
    replay = next((p for p in related if p.idempotency_key == idempotency_key), None)
    if replay is not None:
        if replay.request_digest != digest:
            raise IdempotencyKeyReused()
        if replay.status == Payment.Status.PENDING:
            return replay  # charged again with the same processor key: no double charge
        if replay.status == Payment.Status.FAILED:
            raise PaymentDeclined(decline_code=replay.failure_code)
        if replay.status == Payment.Status.REFUNDED:
            raise HoldExpired(REFUNDED_MESSAGE, rereserved=False, refunded=True)
        return _outcome(order)
    if order.status == Order.Status.PAID:
        return _outcome(order)
    if related:  # another payment of this order is in flight
        raise PaymentInProgress()
    hold_minutes = order.event.hold_minutes
    if order.status == Order.Status.PENDING and order.expires_at <= timezone.now():
        _release(order, Order.Status.EXPIRED)
    if order.status == Order.Status.EXPIRED:
        return _HoldLapsed(rereserved=_reclaim(order, hold_minutes), expires_at=order.expires_at)
    if order.status == Order.Status.CANCELLED and not _reclaim(order, hold_minutes):
        raise SoldOut("The tickets of this order were released and are gone now.")
    if order.status != Order.Status.PENDING:
        raise OrderNotPayable()
    return Payment.objects.create(
        order=order,
        buyer=buyer,
        idempotency_key=idempotency_key,
        request_digest=digest,
        provider=settings.PAYMENT_PROVIDER,
        amount=order.total,
        currency=order.currency,
    )


@transaction.atomic(durable=True)
def _payment_unanswered(*, payment_id: Any) -> None:
    """The processor did not answer: release the hold; reconciliation settles the payment."""
    payment = Payment.objects.get(pk=payment_id)
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    if order.status == Order.Status.PENDING:
        _release(order, Order.Status.CANCELLED)
    Payment.objects.filter(pk=payment_id).update(updated_at=timezone.now())


@transaction.atomic(durable=True)
def _payment_finish(*, payment_id: Any, order_id: Any, result: ChargeResult) -> PaymentOutcome:
    """Settle a payment with the processor's answer; safe to call again with the same answer."""
    # Order first, then payment: the same lock order as _payment_start, so no deadlock.
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer", "event")
        .get(pk=order_id)
    )
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status in (Payment.Status.SUCCEEDED, Payment.Status.REFUNDED):
        return _outcome(order)
    payment.provider_charge_id = result.charge_id or payment.provider_charge_id
    if not result.succeeded:
        payment.status, payment.failure_code = Payment.Status.FAILED, result.decline_code
        payment.save(update_fields=["status", "failure_code", "provider_charge_id", "updated_at"])
        if order.status == Order.Status.PENDING:
            _release(order, Order.Status.CANCELLED)
        return _outcome(order)
    # Charged. Tickets if the order still has (or can get back) its hold; else the money back.
    keep = order.status == Order.Status.PENDING or (
        order.status in (Order.Status.EXPIRED, Order.Status.CANCELLED)
        and _reclaim(order, order.event.hold_minutes)
    )
    if not keep:  # paid by another payment already, or the tickets are gone
        payment.status = Payment.Status.REFUNDED
        payment.save(update_fields=["status", "provider_charge_id", "updated_at"])
        transaction.on_commit(lambda: _enqueue_refund(payment.pk))
        return _outcome(order)
    payment.status = Payment.Status.SUCCEEDED
    payment.save(update_fields=["status", "provider_charge_id", "updated_at"])
    order.status, order.paid_at = Order.Status.PAID, timezone.now()
    order.save(update_fields=["status", "paid_at"])
    tickets = _issue_tickets(order)
    order_confirmed.send(sender=Order, order_id=order.pk)  # in the transaction: outbox row
    return PaymentOutcome(order=order, tickets=tickets)


def _issue_tickets(order: Order) -> list[Ticket]:
    buyer = order.buyer
    seats = [
        (seat.pk, seat.tier_id, seat.label) for seat in order.seats.order_by("pk").only(*SEAT_LABEL)
    ]
    plan = ticket_plan(
        list(order.lines.order_by("tier_id").values_list("tier_id", "quantity")), seats
    )
    tickets = []
    key = current_signing_key(order.event_id)
    for index, (tier_id, seat_id, label) in enumerate(plan):
        ticket = Ticket(
            order=order,
            event_id=order.event_id,
            tier_id=tier_id,
            seat_id=seat_id,
            holder=buyer,
            attendee_name=attendee_name(order.attendee_names, index, buyer),
        )
        ticket.qr_payload = ticket_payload_sign(ticket, key=key, seat_label=label)
        tickets.append(ticket)
    return Ticket.objects.bulk_create(tickets)


SEAT_LABEL = ("id", "tier_id", "section", "row", "number")


def attendee_name(names: list[str], index: int, buyer: User) -> str:
    """The name on the `index`th ticket of an order: as given at checkout, else the buyer's."""
    return names[index] if index < len(names) and names[index] else buyer.display_name


def ticket_plan(
    lines: list[tuple[Any, int]], seats: list[tuple[Any, Any, str]]
) -> list[tuple[Any, Any, str]]:
    """(tier, seat, seat label) per ticket: one per seat for assigned seating, else per line."""
    if seats:
        return [(tier_id, seat_id, label) for seat_id, tier_id, label in seats]
    return [(tier_id, None, "") for tier_id, quantity in lines for _ in range(quantity)]


def _enqueue_refund(payment_id: Any) -> None:
    from ticketing.tasks import refund_payment  # tasks import this module

    refund_payment.delay(str(payment_id))


def payment_refund_send(*, payment_id: Any) -> None:
    """Give back a charge that could not become tickets; safe to repeat (idempotent key)."""
    payment = Payment.objects.get(pk=payment_id, status=Payment.Status.REFUNDED)
    if payment.provider_refund_id:
        return
    refund = get_provider(payment.provider).refund(
        charge_id=payment.provider_charge_id,
        amount=payment.amount,
        idempotency_key=f"{payment.provider_key}-refund",
    )
    Payment.objects.filter(pk=payment_id).update(
        provider_refund_id=refund.refund_id, updated_at=timezone.now()
    )


def payment_reconcile(*, payment_id: Any) -> PaymentOutcome | None:
    """Ask the processor what became of a pending payment and settle it (beat, next attempt).

    ProviderUnavailable when the processor cannot be asked: no answer is not "no charge".
    """
    payment = Payment.objects.get(pk=payment_id)
    if payment.status == Payment.Status.REFUNDED and not payment.provider_refund_id:
        payment_refund_send(payment_id=payment.pk)
        return None
    result = get_provider(payment.provider).find_charge(idempotency_key=payment.provider_key)
    return payment_settle(provider_key=payment.provider_key, result=result) if result else None


def payment_settle(*, provider_key: str, result: ChargeResult) -> PaymentOutcome | None:
    """Apply the processor's word on a charge (from a webhook or a lookup); None if moot."""
    payment_id = provider_key.removeprefix("bo-")
    payment = Payment.objects.filter(pk=payment_id).first() if is_uuid(payment_id) else None
    if payment is None or payment.status not in (Payment.Status.PENDING, Payment.Status.FAILED):
        return None
    if payment.status == Payment.Status.FAILED and not result.succeeded:
        return None  # already settled as failed
    return _payment_finish(payment_id=payment.pk, order_id=payment.order_id, result=result)


def payments_reconcile(
    *, older_than: timedelta = timedelta(seconds=30), give_up_after: timedelta = timedelta(hours=1)
) -> int:
    """Settle payments whose answer was lost; returns how many were looked at."""
    now = timezone.now()
    stuck = Payment.objects.filter(
        Q(status=Payment.Status.PENDING, updated_at__lte=now - older_than)
        | Q(status=Payment.Status.REFUNDED, provider_refund_id="")
    ).values_list("pk", "status", "created_at")[:200]
    seen = 0
    for payment_id, status, created_at in stuck:
        seen += 1
        try:
            settled = payment_reconcile(payment_id=payment_id)
        except ProviderUnavailable:
            continue
        if (
            settled is None
            and status == Payment.Status.PENDING
            and created_at <= now - give_up_after
        ):
            # The processor has no charge for this key after an hour: it never happened.
            Payment.objects.filter(pk=payment_id, status=Payment.Status.PENDING).update(
                status=Payment.Status.FAILED, failure_code="no_answer", updated_at=now
            )
        else:
            Payment.objects.filter(pk=payment_id, status=Payment.Status.PENDING).update(
                updated_at=now
            )
    return seen
