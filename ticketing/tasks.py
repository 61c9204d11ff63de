"""Thin Celery wrappers: ids in, one service call each; safe to run twice."""

from celery import shared_task

from ticketing.booking.gate import gate_sync
from ticketing.booking.services import (
    orders_release_expired,
    payment_refund_send,
    payments_reconcile,
)
from ticketing.payments import ProviderUnavailable


@shared_task
def release_expired_holds() -> int:
    return orders_release_expired()


@shared_task
def reconcile_payments() -> int:
    return payments_reconcile()


@shared_task
def sync_admission_gate() -> int:
    return gate_sync()


@shared_task(
    autoretry_for=(ProviderUnavailable,), retry_backoff=True, retry_backoff_max=600, max_retries=20
)
def refund_payment(payment_id: str) -> None:
    payment_refund_send(payment_id=payment_id)


# --- After the sale (issue 6) ----------------------------------------------------------------


@shared_task(
    autoretry_for=(ProviderUnavailable,), retry_backoff=True, retry_backoff_max=600, max_retries=20
)
def refund_send_task(refund_id: str) -> None:
    from ticketing.aftersale.refunds import refund_send
    from ticketing.models import Refund

    if refund_send(refund_id=refund_id).status == Refund.Status.PENDING:
        raise ProviderUnavailable("no answer from the processor yet")  # retried with backoff


@shared_task
def refunds_retry() -> int:
    from ticketing.aftersale.refunds import refunds_retry as retry

    return retry()


@shared_task
def refund_job_run(job_id: int) -> int:
    """One step of a cancellation's bulk refund; enqueues the next step until none are left."""
    from ticketing.aftersale.refunds import refund_job_step

    left = refund_job_step(job_id=job_id)
    if left:
        refund_job_run.delay(job_id)
    return left


@shared_task
def refund_jobs_resume() -> int:
    from ticketing.aftersale.refunds import refund_jobs_resume as resume

    return resume()
