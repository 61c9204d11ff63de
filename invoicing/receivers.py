"""Invoices and credit notes are numbered in the transaction that pays or refunds."""

from typing import Any

from django.dispatch import receiver

from invoicing import services
from ticketing.signals import order_confirmed, order_refunded


@receiver(order_confirmed)
def on_order_confirmed(
    sender: Any, order_id: Any, organization_id: Any = None, **kwargs: Any
) -> None:
    services.invoice_issue(order_id=order_id, organization_id=organization_id)


@receiver(order_refunded)
def on_order_refunded(sender: Any, order_id: Any, refund_id: Any, **kwargs: Any) -> None:
    services.credit_note_issue(refund_id=refund_id)
