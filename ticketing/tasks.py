"""Thin Celery wrappers: ids in, one service call each; safe to run twice."""

from celery import shared_task

from ticketing.gate import gate_sync
from ticketing.payments import ProviderUnavailable
from ticketing.services import orders_release_expired, payment_refund_send, payments_reconcile


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
