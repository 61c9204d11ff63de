"""Booking general admission: reserve, pay as a saga, get tickets.

Holding, releasing and issuing are the booking core's (`booking.core`); this module adds the
general-admission request (items, the Redis gate in front) and the payment saga. With
`settings.BOXOFFICE_HOT_PATH` on, the plain rush case of reserving and paying runs as single
statements (`booking.hotpath`); off, everything runs here. Both give the same answers: the
tests run both ways.

Paying is three steps, so no database lock is held while the processor thinks:
  1. `_payment_start`: lock the order, record a pending Payment (committed);
  2. the processor's charge, idempotent on the Payment's own key;
  3. `_payment_finish`: lock the order, confirm and issue tickets, or release the hold.
A charge whose answer was lost stays pending and is settled by `payments_reconcile` (Celery
beat) or the processor's webhook: the buyer ends with tickets or a refund, never neither.
"""

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.db import busy_on_lock_timeout, row_or_raise
from core.errors import NotFound
from core.ids import is_uuid
from core.testswitches import switch_on
from events.models import AttendeeQuestion, Event, TicketTier
from events.questions import answers_clean, event_questions
from ticketing.booking import hotpath
from ticketing.booking.core import (
    idempotency_key_check,
    inventory_admit,
    order_existing,
    order_hold,
    order_reclaim,
    order_release,
    orders_release_expired,
    request_digest,
    ticket_plan,
    tickets_build,
    tickets_issue,
)
from ticketing.booking.gate import gate_give, gate_sync
from ticketing.errors import (
    HoldExpired,
    IdempotencyKeyReused,
    OrderNotPayable,
    PaymentDeclined,
    PaymentInProgress,
    PaymentPending,
    QuantityLimit,
    SoldOut,
    UnknownTier,
)
from ticketing.models import Order, OrderLine, Payment, Ticket
from ticketing.payments import ChargeResult, ProviderUnavailable, get_provider
from ticketing.signals import order_confirmed
from vouchers.errors import VoucherInvalid
from vouchers.models import VoucherRedemption
from vouchers.services import code_normalise, order_pricing, voucher_find, voucher_redeem

logger = logging.getLogger(__name__)

REFUNDED_MESSAGE = "Your reservation expired before the payment arrived, so it was refunded."
# A payment still unanswered after this long is asked about before another may start.
STALE_PAYMENT = timedelta(seconds=15)


def _normalise_items(items: Iterable[tuple[Any, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for tier_id, quantity in items:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise QuantityLimit(_("Quantity must be a whole number of at least 1."))
        try:  # one spelling per tier: the lookup below and the request digest depend on it
            key = str(uuid.UUID(str(tier_id)))
        except ValueError as exc:
            raise UnknownTier() from exc
        merged[key] = merged.get(key, 0) + quantity
    if not merged:
        raise QuantityLimit(_("Choose at least one ticket."))
    return merged


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
    idempotency_key_check(idempotency_key)
    wanted = _normalise_items(items)
    request: dict[str, Any] = {"event": str(event_id), "items": wanted}
    voucher = code_normalise(voucher)
    if voucher:
        request["voucher"] = voucher
    digest = request_digest(request)
    taken, replayed = inventory_admit(buyer, event_id, wanted, idempotency_key, digest)
    if replayed is not None:
        return replayed
    try:
        # The test-only unsafe inventory switch must reach `inventory_claim`: no hot path then;
        # nor with a voucher, which the hot path does not price.
        if (
            settings.BOXOFFICE_HOT_PATH
            and len(wanted) == 1
            and not voucher
            and not switch_on("inventory_unlocked")
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
        existing = order_existing(buyer, idempotency_key, digest)
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
        existing = order_existing(buyer, idempotency_key, digest)
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
        raise NotFound(_("No such event.")) from exc
    if not tiers and not Event.objects.filter(pk=event_id).exclude(status="draft").exists():
        raise NotFound(_("No such event."))
    if len(tiers) != len(wanted):
        raise UnknownTier()
    event = next(iter(tiers.values())).event
    if event.status == Event.Status.DRAFT:  # drafts do not exist for the public
        raise NotFound(_("No such event."))
    voucher = voucher_find(event_id=event.pk, code=voucher_code, now=now) if voucher_code else None
    with busy_on_lock_timeout():
        return order_hold(
            buyer=buyer,
            event=event,
            tiers=tiers,
            wanted=wanted,
            idempotency_key=idempotency_key,
            digest=digest,
            now=now,
            voucher=voucher,
        )


@transaction.atomic(durable=True)
def order_voucher_apply(*, buyer: User, order_id: Any, code: str) -> Order:
    """Price the buyer's held order with a voucher code (its use counted now)."""
    order = _held_order_locked(buyer, order_id)
    if VoucherRedemption.objects.filter(order=order, released_at=None).exists():
        raise VoucherInvalid(_("This order already has a voucher code."))
    lines = list(order.lines.select_related("tier"))
    tiers = {str(line.tier_id): line.tier for line in lines}
    wanted = {str(line.tier_id): line.quantity for line in lines}
    voucher = voucher_find(event_id=order.event_id, code=code, now=timezone.now())
    pricing = order_pricing(tiers=tiers, wanted=wanted, voucher=voucher)
    with busy_on_lock_timeout():
        voucher_redeem(voucher=voucher, order_id=order.pk, buyer=buyer, discount=pricing.discount)
    for line in lines:
        line.unit_price = pricing.unit_prices[str(line.tier_id)]
    OrderLine.objects.bulk_update(lines, ["unit_price"])
    order.total = pricing.total
    order.save(update_fields=["total"])
    return order


@transaction.atomic(durable=True)
def order_attendees_set(
    *,
    buyer: User,
    order_id: Any,
    names: list[str],
    answers: list[dict[str, Any]] | None = None,
) -> Order:
    """Name the tickets of the buyer's held order (in ticket order) before it is paid, with the
    answers to the event's attendee questions (AnswerRequired / AnswerInvalid otherwise)."""
    order = _held_order_locked(buyer, order_id)
    tier_ids = _ticket_tiers(order)
    cleaned = [" ".join(name.split())[:150] for name in names]
    if len(cleaned) > len(tier_ids) or len(answers or []) > len(tier_ids):
        raise QuantityLimit(_("This order has %(count)s tickets.") % {"count": len(tier_ids)})
    order.attendee_names = cleaned
    order.attendee_answers = answers_clean(event_questions(order.event_id), tier_ids, answers or [])
    order.save(update_fields=["attendee_names", "attendee_answers"])
    return order


def order_answers_check(*, buyer: User, order_id: Any) -> None:
    """AnswerRequired / AnswerInvalid if the buyer's pending order still lacks answers the
    event's questions require (for a payment that brings no attendees of its own).

    One indexed EXISTS when the event asks nothing required, the common case on the rush path.
    """
    if not is_uuid(str(order_id)):
        return  # not an order: the payment says so
    if not AttendeeQuestion.objects.filter(event__orders=order_id, required=True).exists():
        return
    order = Order.objects.filter(pk=order_id, buyer=buyer, status=Order.Status.PENDING).first()
    if order is not None:
        answers_clean(event_questions(order.event_id), _ticket_tiers(order), order.attendee_answers)


def _ticket_tiers(order: Order) -> list[Any]:
    """The tier of each ticket the order will issue, in ticket order (ticket_plan)."""
    lines = sorted(order.lines.values_list("tier_id", "quantity"))
    seats = [(pk, tier, "") for pk, tier in order.seats.order_by("pk").values_list("pk", "tier_id")]
    return [tier for tier, _seat, _label in ticket_plan(lines, seats)]


def _held_order_locked(buyer: User, order_id: Any) -> Order:
    """The buyer's pending order whose hold still runs, locked; no payment may be in flight."""
    order = row_or_raise(
        Order.objects.select_for_update(of=("self",)),
        NotFound("No such order."),
        pk=order_id,
        buyer=buyer,
    )
    if order.status != Order.Status.PENDING:
        raise OrderNotPayable(_("This order can no longer be changed."))
    if order.expires_at <= timezone.now():
        raise HoldExpired(rereserved=False, expires_at=order.expires_at.isoformat())
    if Payment.objects.filter(order=order, status=Payment.Status.PENDING).exists():
        raise PaymentInProgress()
    return order


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
    *,
    buyer: User,
    order_id: Any,
    idempotency_key: str,
    source: str = "4242424242424242",
    check_answers: bool = False,
) -> PaymentOutcome:
    """Charge a held order and issue its tickets; a paid order answers with its tickets.

    `check_answers`: first `order_answers_check` (for a payment that brings no attendees).
    """
    idempotency_key_check(idempotency_key)
    digest = request_digest(
        {"order": str(order_id), "source": hashlib.sha256(source.encode()).hexdigest()}
    )
    started: Payment | hotpath.StartedPayment | None = None
    if settings.BOXOFFICE_HOT_PATH:
        started = hotpath.payment_start(
            buyer=buyer,
            order_id=order_id,
            idempotency_key=idempotency_key,
            digest=digest,
            provider=settings.PAYMENT_PROVIDER,
            now=timezone.now(),
            unanswered=check_answers,  # started: the event asks nothing required
        )
    if started is None:
        if check_answers:
            order_answers_check(buyer=buyer, order_id=order_id)
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
    tickets = tickets_build(
        order_id=started.order_id,
        event_id=started.event_id,
        holder=buyer,
        plan=ticket_plan(started.lines, started.seats),
        issued_at=now,
        names=started.attendee_names,
        answers=started.attendee_answers,
    )
    try:
        with transaction.atomic(durable=True):
            if not hotpath.payment_finish(
                buyer=buyer,
                started=started,
                charge_id=charge_id,
                tickets=[
                    (t.pk, t.tier_id, t.seat_id, t.qr_payload, t.attendee_name, t.answers)
                    for t in tickets
                ],
                now=now,
            ):
                return None
            # In the transaction, like the reference path: listeners write their outbox rows.
            order_confirmed.send(
                sender=Order,
                order_id=started.order_id,
                buyer_id=buyer.pk,
                organization_id=started.organization_id,
                total=started.amount,
                currency=started.currency,
            )
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
    order = row_or_raise(
        Order.objects.select_for_update(of=("self",)).select_related("event"),
        NotFound("No such order."),
        pk=order_id,
        buyer=buyer,
    )
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
        order_release(order, Order.Status.EXPIRED)
    if order.status == Order.Status.EXPIRED:
        return _HoldLapsed(
            rereserved=order_reclaim(order, hold_minutes), expires_at=order.expires_at
        )
    if order.status == Order.Status.CANCELLED and not order_reclaim(order, hold_minutes):
        raise SoldOut(_("The tickets of this order were released and are gone now."))
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
        order_release(order, Order.Status.CANCELLED)
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
            order_release(order, Order.Status.CANCELLED)
        return _outcome(order)
    # Charged. Tickets if the order still has (or can get back) its hold; else the money back.
    keep = order.status == Order.Status.PENDING or (
        order.status in (Order.Status.EXPIRED, Order.Status.CANCELLED)
        and order_reclaim(order, order.event.hold_minutes)
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
    tickets = tickets_issue(order)
    order_confirmed.send(sender=Order, order_id=order.pk)  # in the transaction: outbox row
    return PaymentOutcome(order=order, tickets=tickets)


def _enqueue_refund(payment_id: Any) -> None:
    refund_payment.delay(str(payment_id))


# Enqueued by this module, so defined beside it (tasks.py holds the periodic jobs, which import
# services; a task here keeps the import graph one-way).
@shared_task(
    name="ticketing.tasks.refund_payment",  # the name it had in tasks.py: queued messages still run
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=20,
)
def refund_payment(payment_id: str) -> None:
    payment_refund_send(payment_id=payment_id)


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
