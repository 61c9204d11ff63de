"""Refunds: the organizer's policy, self-service and organizer refunds, event cancellation.

A refund is a small saga like paying, so no lock is held while the processor thinks:
  1. `_refund_start` (one transaction): check the policy, record a pending Refund with one
     RefundLine per ticket (UNIQUE per ticket: no ticket is refunded twice), void the tickets
     (their QR is rejected from this commit on) and release their seats (`seats_return`);
  2. the processor's refund, idempotent on the Refund's own key (`bo-refund-<id>`);
  3. `_refund_finish`: mark it succeeded and announce `order_refunded` (once).
A refund whose processor answer was lost stays pending and `refunds_retry` (Celery beat) sends
it again with the same key, so the money goes back exactly once.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import User
from accounts.selectors import organizations_managed_by
from accounts.services import audit_record
from core.errors import NotFound, PermissionDenied
from events.models import Event
from events.signals import event_cancelled
from ticketing.booking.releases import seats_return
from ticketing.booking.services import _busy_on_lock_timeout, _check_key, _release, _request_digest
from ticketing.errors import (
    IdempotencyKeyReused,
    OrderNotRefundable,
    RefundsNotAllowed,
    RefundWindowClosed,
    TicketNotRefundable,
)
from ticketing.models import EventPolicy, Order, Payment, Refund, RefundJob, RefundLine, Ticket
from ticketing.payments import ProviderUnavailable, get_provider
from ticketing.signals import event_cancelled_refunds_done, order_refunded

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")


def policy_for(event: Event) -> EventPolicy:
    """The event's policy; the defaults (unsaved) when the organizer never set one."""
    try:
        return EventPolicy.objects.get(event=event)
    except EventPolicy.DoesNotExist:
        return EventPolicy(event=event)


@dataclass(frozen=True)
class Quote:
    gross: Decimal
    fee: Decimal
    amount: Decimal
    per_ticket: list[Decimal]


@transaction.atomic(durable=True)
def event_policy_save(*, actor: User, policy: EventPolicy) -> EventPolicy:
    """Store an event's refund, transfer and offer rules (the caller checked the manager)."""
    before = policy_for(policy.event)
    fields = [f.name for f in EventPolicy._meta.fields if f.name != "event"]
    policy.save()
    audit_record(
        actor=actor,
        action="event.policy",
        target=policy.event,
        organization=policy.event.organization,
        changes={
            f: str(getattr(policy, f)) for f in fields if getattr(policy, f) != getattr(before, f)
        },
    )
    return policy


def refund_quote(policy: EventPolicy | None, prices: list[Decimal]) -> Quote:
    """What refunding tickets at `prices` gives back; no policy (organizer) keeps no fee."""
    per_ticket = []
    for price in prices:
        fee = Decimal("0")
        if policy is not None:
            fee = (price * policy.refund_fee_percent / 100).quantize(CENT, ROUND_HALF_UP)
            fee = min(price, fee + policy.refund_fee_fixed)
        per_ticket.append(price - fee)
    gross = sum(prices, Decimal("0"))
    amount = sum(per_ticket, Decimal("0"))
    return Quote(gross=gross, fee=gross - amount, amount=amount, per_ticket=per_ticket)


def refund_deadline(policy: EventPolicy) -> Any:
    return policy.event.starts_at - timedelta(hours=policy.refund_until_hours)


def _manages(user: User, event: Event) -> bool:
    return organizations_managed_by(user).filter(pk=event.organization_id).exists()


def order_refund(
    *,
    actor: User,
    order_id: Any,
    idempotency_key: str,
    ticket_ids: list[Any] | None = None,
    as_organizer: bool = False,
    reason: str = Refund.Reason.BUYER,
) -> Refund:
    """Refund some (or all valid) tickets of a paid order; same key, same refund."""
    _check_key(idempotency_key)
    wanted = sorted({str(t) for t in ticket_ids}) if ticket_ids else None
    digest = _request_digest({"order": str(order_id), "tickets": wanted, "reason": reason})
    refund = _refund_existing(actor, idempotency_key, digest)
    if refund is None:
        try:
            refund = _refund_start(
                actor=actor,
                order_id=order_id,
                wanted=wanted,
                idempotency_key=idempotency_key,
                digest=digest,
                as_organizer=as_organizer,
                reason=reason,
            )
        except IntegrityError:  # a concurrent copy of this key committed first
            refund = _refund_existing(actor, idempotency_key, digest)
            if refund is None:
                raise
    if refund.status == Refund.Status.PENDING:
        refund = refund_send(refund_id=refund.pk, enqueue_on_failure=True)
    return refund


def _refund_existing(actor: User, idempotency_key: str, digest: str) -> Refund | None:
    refund = Refund.objects.filter(requested_by=actor, idempotency_key=idempotency_key).first()
    if refund is not None and refund.request_digest != digest:
        raise IdempotencyKeyReused()
    return refund


@transaction.atomic(durable=True)
def _refund_start(
    *,
    actor: User,
    order_id: Any,
    wanted: list[str] | None,
    idempotency_key: str,
    digest: str,
    as_organizer: bool,
    reason: str,
) -> Refund:
    with _busy_on_lock_timeout():
        try:
            order = (
                Order.objects.select_for_update(of=("self",))
                .select_related("event")
                .get(pk=order_id)
            )
        except (Order.DoesNotExist, ValidationError, ValueError) as exc:
            raise NotFound("No such order.") from exc
        # Under the order's lock, so concurrent copies of one request line up here.
        replay = _refund_existing(actor, idempotency_key, digest)
        if replay is not None:
            return replay
        event = order.event
        if as_organizer:
            if not _manages(actor, event):
                raise NotFound("No such order.")
            policy = None
        else:
            if order.buyer_id != actor.pk:
                raise NotFound("No such order.")
            policy = policy_for(event)
            if not policy.refunds_allowed:
                raise RefundsNotAllowed()
            if timezone.now() >= refund_deadline(policy):
                raise RefundWindowClosed(deadline=refund_deadline(policy).isoformat())
        if order.status != Order.Status.PAID:
            raise OrderNotRefundable()
        payment = order.payments.filter(status=Payment.Status.SUCCEEDED).first()
        if payment is None:
            raise OrderNotRefundable()
        # Tickets still valid and still the buyer's (a transferred ticket is not theirs).
        tickets = list(
            order.tickets.select_for_update()
            .filter(status=Ticket.Status.VALID)
            .order_by("issued_at", "id")
        )
        if not as_organizer:
            tickets = [t for t in tickets if t.holder_id == order.buyer_id]
        if wanted is not None:
            by_id = {str(t.pk): t for t in tickets}
            if any(t not in by_id for t in wanted):
                raise TicketNotRefundable()
            tickets = [by_id[t] for t in wanted]
        if not tickets:
            raise TicketNotRefundable("This order has no tickets left to refund.")
        prices = dict(order.lines.values_list("tier_id", "unit_price"))
        quote = refund_quote(policy, [prices[t.tier_id] for t in tickets])
        refund = Refund.objects.create(
            order=order,
            payment=payment,
            requested_by=actor,
            reason=reason,
            gross=quote.gross,
            fee=quote.fee,
            amount=quote.amount,
            currency=order.currency,
            idempotency_key=idempotency_key,
            request_digest=digest,
        )
        RefundLine.objects.bulk_create(
            RefundLine(refund=refund, ticket=t, amount=a)
            for t, a in zip(tickets, quote.per_ticket, strict=True)
        )
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
            status=Ticket.Status.VOID, void_reason="refunded"
        )
        if event.status != Event.Status.CANCELLED:  # a cancelled event's seats are moot
            seats_return(
                event_id=event.pk,
                lines=[(t.tier_id, 1) for t in tickets],
                seat_ids=[t.seat_id for t in tickets if t.seat_id],
            )
        audit_record(
            actor=actor,
            action="order.refund",
            target=order,
            organization=event.organization,
            changes={
                "refund": str(refund.pk),
                "tickets": [str(t.pk) for t in tickets],
                "amount": str(quote.amount),
                "fee": str(quote.fee),
                "reason": reason,
            },
        )
    return refund


def refund_send(*, refund_id: Any, enqueue_on_failure: bool = False) -> Refund:
    """Send a pending refund to the processor (same key every time); the refund as it stands."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    try:
        result = get_provider(refund.payment.provider).refund(
            charge_id=refund.payment.provider_charge_id,
            amount=refund.amount,
            idempotency_key=refund.provider_key,
        )
    except ProviderUnavailable:
        logger.warning("refund %s: processor did not answer; will retry", refund.pk)
        if enqueue_on_failure:
            transaction.on_commit(lambda: _enqueue_refund_send(refund.pk))
        return refund
    return _refund_finish(refund_id=refund.pk, provider_refund_id=result.refund_id)


def _enqueue_refund_send(refund_id: Any) -> None:
    from ticketing.tasks import refund_send_task  # tasks import this module

    refund_send_task.apply_async(args=(str(refund_id),), countdown=30)


@transaction.atomic(durable=True)
def _refund_finish(*, refund_id: Any, provider_refund_id: str) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status == Refund.Status.PENDING:
        refund.status = Refund.Status.SUCCEEDED
        refund.provider_refund_id = provider_refund_id
        refund.refunded_at = timezone.now()
        refund.save(update_fields=["status", "provider_refund_id", "refunded_at"])
        # In the transaction: notifications writes the buyer's message to its outbox here.
        order_refunded.send(
            sender=Order,
            order_id=refund.order_id,
            amount=refund.amount,
            currency=refund.currency,
            refund_id=refund.pk,
        )
    return refund


def refunds_retry(*, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Send refunds whose processor answer was lost again (beat); returns how many were tried."""
    stuck = Refund.objects.filter(
        status=Refund.Status.PENDING, created_at__lte=timezone.now() - older_than
    ).values_list("pk", flat=True)[:200]
    tried = 0
    for refund_id in stuck:
        refund_send(refund_id=refund_id)
        tried += 1
    return tried


# --- Event cancellation ----------------------------------------------------------------------


@transaction.atomic(durable=True)
def event_cancel_with_refunds(*, actor: User, event_id: Any) -> RefundJob:
    """Cancel an event (if not yet) and start refunding every order; one job per event."""
    try:
        event = (
            Event.objects.select_for_update(of=("self",))
            .select_related("organization")
            .get(pk=event_id)
        )
    except (Event.DoesNotExist, ValidationError, ValueError) as exc:
        raise NotFound("No such event.") from exc
    if not _manages(actor, event):
        raise PermissionDenied()
    if event.status != Event.Status.CANCELLED:
        event.status = Event.Status.CANCELLED
        event.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor, action="event.cancel", target=event, organization=event.organization
        )
        # As events.services.event_cancel does: holders are told, and the receiver below in
        # ticketing.receivers starts the same refund job (once: one job per event).
        event_cancelled.send(
            sender=Event,
            event_id=event.pk,
            organization_id=event.organization_id,
            actor_id=actor.pk,
        )
    return refund_job_start(event=event, actor_id=actor.pk)


def refund_job_start(*, event: Event, actor_id: Any) -> RefundJob:
    """The event's refund-everyone job, created once, run after commit; in a transaction."""
    job, created = RefundJob.objects.get_or_create(
        event=event,
        defaults={
            "requested_by_id": actor_id,
            "orders_total": event.orders.filter(status=Order.Status.PAID).count(),
        },
    )
    if created:
        audit_record(
            actor=User.objects.get(pk=actor_id),
            action="event.refund_all",
            target=event,
            organization=event.organization,
            changes={"orders": job.orders_total},
        )
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue_job(job_id))
    return job


def _enqueue_job(job_id: int) -> None:
    from ticketing.tasks import refund_job_run

    refund_job_run.delay(job_id)


def _orders_left(job: RefundJob) -> Any:
    """Paid orders of the job's event that still have a valid ticket and no cancellation refund."""
    refunded = Refund.objects.filter(order=OuterRef("pk"), reason=Refund.Reason.EVENT_CANCELLED)
    valid = Ticket.objects.filter(order=OuterRef("pk"), status=Ticket.Status.VALID)
    return (
        Order.objects.filter(event_id=job.event_id, status=Order.Status.PAID)
        .filter(Exists(valid))
        .exclude(Exists(refunded))
        .order_by("id")
    )


def refund_job_step(*, job_id: int, batch: int = 50) -> int:
    """Refund up to `batch` orders of a cancellation job; returns how many are left.

    Safe to kill at any point and run again: each order's refund has a key derived from the job
    and the order (`cancel-<job>-<order>`), so a rerun finds the refund it already made and only
    re-sends it to the processor (whose key is the refund's) if it is still pending.
    """
    job = RefundJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status == RefundJob.Status.DONE:
        return 0
    # Holds of a cancelled event will never be paid: release them (seats are moot).
    for order_id in Order.objects.filter(
        event_id=job.event_id, status=Order.Status.PENDING
    ).values_list("pk", flat=True):
        order_hold_cancel(order_id=order_id)
    # Refunds started before a kill but not confirmed: the same key, so never twice.
    for refund_id in Refund.objects.filter(
        order__event_id=job.event_id,
        reason=Refund.Reason.EVENT_CANCELLED,
        status=Refund.Status.PENDING,
    ).values_list("pk", flat=True)[:batch]:
        refund_send(refund_id=refund_id)
    for order_id in _orders_left(job).values_list("pk", flat=True)[:batch]:
        order_refund(
            actor=job.requested_by,
            order_id=order_id,
            idempotency_key=f"cancel-{job.pk}-{order_id}",
            as_organizer=True,
            reason=Refund.Reason.EVENT_CANCELLED,
        )
    left = _orders_left(job).count()
    pending = Refund.objects.filter(
        order__event_id=job.event_id,
        reason=Refund.Reason.EVENT_CANCELLED,
        status=Refund.Status.PENDING,
    ).exists()
    if left == 0 and not pending:
        _job_finish(job_id=job.pk)
    return left + int(pending)


def order_hold_cancel(*, order_id: Any) -> None:
    """Give up a pending order's hold (a declined offer, a cancelled event's hold)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == Order.Status.PENDING:
            _release(order, Order.Status.CANCELLED)


@transaction.atomic(durable=True)
def _job_finish(*, job_id: int) -> None:
    job = RefundJob.objects.select_for_update().get(pk=job_id)
    if job.status == RefundJob.Status.DONE:
        return
    job.status, job.finished_at = RefundJob.Status.DONE, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    event_id = job.event_id
    transaction.on_commit(
        lambda: event_cancelled_refunds_done.send(
            sender=RefundJob, job_id=job_id, event_id=event_id
        )
    )


def refund_jobs_resume() -> int:
    """Start a step of every unfinished job (beat; after a worker was killed mid-job)."""
    ids = list(
        RefundJob.objects.filter(status=RefundJob.Status.RUNNING).values_list("pk", flat=True)
    )
    for job_id in ids:
        _enqueue_job(job_id)
    return len(ids)
