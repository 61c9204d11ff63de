"""Thin Celery wrappers of the periodic jobs: ids in, one service call each; safe to run twice.

Tasks a service enqueues itself are defined beside that service (refund_payment in
booking.services, refund_send_task in aftersale.refunds, refund_job_run in
aftersale.cancellation), so services never import this module; importing this module
registers them all with the worker.
"""

from datetime import timedelta

from celery import shared_task
from django.db.models import Count
from django.utils import timezone

from ticketing.aftersale import cancellation, refunds
from ticketing.booking import services
from ticketing.booking.core import orders_release_expired
from ticketing.booking.gate import gate_sync
from ticketing.models import Order
from waitingroom.services import checkout_pace_set, checkout_paced_events

# Registered by their modules; named here so the worker's autodiscovery finds them.
ENQUEUED_BY_SERVICES = (
    services.refund_payment,
    refunds.refund_send_task,
    cancellation.refund_job_run,
)


@shared_task
def release_expired_holds() -> int:
    return orders_release_expired()


@shared_task
def reconcile_payments() -> int:
    return services.payments_reconcile()


@shared_task
def sync_admission_gate() -> int:
    return gate_sync()


@shared_task
def refunds_retry() -> int:
    return refunds.refunds_retry()


@shared_task
def refund_jobs_resume() -> int:
    return cancellation.refund_jobs_resume()


@shared_task
def waiting_room_checkout_pace() -> None:
    """Rooms paced by checkout let through what checkout completed in the last minute."""
    events = checkout_paced_events()
    if not events:
        return
    since = timezone.now() - timedelta(minutes=1)
    completed = dict(
        Order.objects.filter(event_id__in=events, status=Order.Status.PAID, paid_at__gte=since)
        .values_list("event_id")
        .annotate(n=Count("id"))
        .values_list("event_id", "n")
    )
    checkout_pace_set(completed=completed)
