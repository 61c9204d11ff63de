"""Thin Celery wrappers of the periodic jobs: ids in, one service call each; safe to run twice.

Tasks a service enqueues itself are defined beside that service (refund_payment in
booking.services, refund_send_task in aftersale.refunds, refund_job_run in
aftersale.cancellation), so services never import this module; importing this module
registers them all with the worker.
"""

from celery import shared_task

from ticketing.aftersale import cancellation, refunds
from ticketing.booking import services
from ticketing.booking.core import orders_release_expired
from ticketing.booking.gate import gate_sync

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
