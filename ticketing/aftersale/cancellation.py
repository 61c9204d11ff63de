"""Cancelling an event: every paid order refunded by a resumable job, every hold released.

The refunds are `aftersale.refunds.order_refund` (as the organizer), so each ticket moves
through the lifecycle like any refund; a ticket that got in at the door is refunded only if
the event's policy refunds after entry.
"""

from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_record
from core.db import row_or_raise
from core.errors import NotFound, PermissionDenied
from events.models import Event
from events.signals import event_cancelled
from ticketing.aftersale.refunds import manages_event, order_refund, refund_send
from ticketing.booking.core import order_release
from ticketing.booking.lifecycle import refunds_after_entry
from ticketing.models import Order, Refund, RefundJob, Ticket
from ticketing.signals import event_cancelled_refunds_done


@transaction.atomic(durable=True)
def event_cancel_with_refunds(*, actor: User, event_id: Any) -> RefundJob:
    """Cancel an event (if not yet) and start refunding every order; one job per event."""
    event = row_or_raise(
        Event.objects.select_for_update(of=("self",)).select_related("organization"),
        NotFound("No such event."),
        pk=event_id,
    )
    if not manages_event(actor, event):
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
    refund_job_run.delay(job_id)


@shared_task(name="ticketing.tasks.refund_job_run")  # its old name: queued steps still run
def refund_job_run(job_id: int) -> int:
    """One step of a cancellation's bulk refund; enqueues the next step until none are left."""
    left = refund_job_step(job_id=job_id)
    if left:
        refund_job_run.delay(job_id)
    return left


def _orders_left(job: RefundJob) -> Any:
    """Paid orders of the job's event that still have a valid ticket and no cancellation refund."""
    refunded = Refund.objects.filter(order=OuterRef("pk"), reason=Refund.Reason.EVENT_CANCELLED)
    valid = Ticket.objects.filter(order=OuterRef("pk"), status=Ticket.Status.VALID)
    if not refunds_after_entry(job.event_id):  # tickets that got in are not refunded then
        valid = valid.filter(admissions__isnull=True)
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
            order_release(order, Order.Status.CANCELLED)


@transaction.atomic(durable=True)
def _job_finish(*, job_id: int) -> None:
    job = RefundJob.objects.select_for_update().get(pk=job_id)
    if job.status == RefundJob.Status.DONE:
        return
    job.status, job.finished_at = RefundJob.Status.DONE, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    event_id = job.event_id
    event_cancelled_refunds_done.send(sender=RefundJob, job_id=job_id, event_id=event_id)


def refund_jobs_resume() -> int:
    """Start a step of every unfinished job (beat; after a worker was killed mid-job)."""
    ids = list(
        RefundJob.objects.filter(status=RefundJob.Status.RUNNING).values_list("pk", flat=True)
    )
    for job_id in ids:
        _enqueue_job(job_id)
    return len(ids)
