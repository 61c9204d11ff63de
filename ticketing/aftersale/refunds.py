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

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import organizations_managed_by
from accounts.services import audit_record
from core.db import busy_on_lock_timeout, row_or_raise
from core.errors import NotFound
from events.models import Event
from ticketing.booking.core import idempotency_key_check, request_digest
from ticketing.booking.lifecycle import (
    TicketState,
    admissible_for,
    ticket_transition,
    transition_check,
)
from ticketing.booking.releases import seats_return
from ticketing.errors import (
    IdempotencyKeyReused,
    OrderNotRefundable,
    RefundsNotAllowed,
    RefundWindowClosed,
    TicketAlreadyUsed,
    TicketNotRefundable,
)
from ticketing.models import EventPolicy, Order, Payment, Refund, RefundLine, Ticket
from ticketing.payments import ProviderUnavailable, get_provider
from ticketing.signals import order_refunded

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


def manages_event(user: User, event: Event) -> bool:
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
    idempotency_key_check(idempotency_key)
    wanted = sorted({str(t) for t in ticket_ids}) if ticket_ids else None
    digest = request_digest({"order": str(order_id), "tickets": wanted, "reason": reason})
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
    with busy_on_lock_timeout():
        order = row_or_raise(
            Order.objects.select_for_update(of=("self",)).select_related("event"),
            NotFound("No such order."),
            pk=order_id,
        )
        # Under the order's lock, so concurrent copies of one request line up here.
        replay = _refund_existing(actor, idempotency_key, digest)
        if replay is not None:
            return replay
        event = order.event
        if as_organizer:
            if not manages_event(actor, event):
                raise NotFound(_("No such order."))
            policy = None
        else:
            if order.buyer_id != actor.pk:
                raise NotFound(_("No such order."))
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
            transition_check(tickets, TicketState.REFUNDED)  # one that got in: the policy says
        elif tickets:
            # "All": those that may be refunded; tickets that got in stay, unless the policy
            # refunds after entry.
            refundable = admissible_for(tickets, TicketState.REFUNDED)
            if not refundable:
                raise TicketAlreadyUsed()
            tickets = refundable
        if not tickets:
            raise TicketNotRefundable(_("This order has no tickets left to refund."))
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
        ticket_transition(tickets, TicketState.REFUNDED)
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
    refund_send_task.apply_async(args=(str(refund_id),), countdown=30)


@shared_task(
    name="ticketing.tasks.refund_send_task",  # its name in tasks.py: queued messages still run
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=20,
)
def refund_send_task(refund_id: str) -> None:
    if refund_send(refund_id=refund_id).status == Refund.Status.PENDING:
        raise ProviderUnavailable("no answer from the processor yet")  # retried with backoff


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
