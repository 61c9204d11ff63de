"""Listeners for what other apps announce; each one only enqueues a task."""

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from notifications.tasks import send_order_confirmation
from ticketing.signals import order_confirmed


@receiver(order_confirmed)
def on_order_confirmed(sender: Any, order_id: UUID, **kwargs: Any) -> None:
    send_order_confirmation.delay(str(order_id))
