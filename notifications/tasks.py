"""Thin Celery wrappers; each is safe to run twice (the delivery claim sees to it)."""

from typing import Any

from celery import shared_task
from django.conf import settings

from notifications import services
from notifications.models import Channel, Delivery
from notifications.services import email_send


@shared_task
def fan_out(message_id: str) -> None:
    services.deliveries_enqueue(services.message_fan_out(message_id=message_id))


@shared_task
def relay() -> None:
    # Run inline (eager, tests), this is the run the caller was waiting for: the next needs a task.
    services.relay_schedule.forget()
    deliveries, more = services.outbox_relay(limit=settings.NOTIFICATIONS_RELAY_BATCH)
    if more:  # a backlog: the next batch right away, on whichever worker is free
        relay.delay()
    # The mail and in-app entries of this batch go out from here: a send task per batch would
    # cost a publish, a second task and a second load of the same rows. Webhooks get tasks of
    # their own (a slow receiver must not hold up the mail).
    people = [pk for pk, channel in deliveries if channel != Channel.WEBHOOK]
    services.deliveries_enqueue([(pk, ch) for pk, ch in deliveries if ch == Channel.WEBHOOK])
    size = settings.NOTIFICATIONS_BATCH_SIZE
    for start in range(0, len(people), size):
        _send(people[start : start + size])


def _send(delivery_ids: list[Any]) -> None:
    results = services.deliveries_send(delivery_ids=delivery_ids)
    for delivery_id, result in results.items():
        if result.status == Delivery.Status.RETRY and result.retry_in is not None:
            services.delivery_retry_enqueue(
                delivery_id=delivery_id, channel=Channel.EMAIL, delay=result.retry_in
            )


@shared_task
def send_deliveries(delivery_ids: list[str]) -> None:
    _send(delivery_ids)


@shared_task
def send_webhook(delivery_id: str) -> None:
    result = services.delivery_send(delivery_id=delivery_id)
    if result.status == Delivery.Status.RETRY and result.retry_in is not None:
        services.delivery_retry_enqueue(
            delivery_id=delivery_id, channel=Channel.WEBHOOK, delay=result.retry_in
        )


@shared_task
def redispatch() -> None:
    services.notifications_redispatch()


@shared_task
def record_reminders() -> None:
    services.reminders_record()


# allauth's account mail (rendered in the request); SMTP and network failures retry with backoff.
@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_rendered_email(subject: str, body: str, to: list[str], html: str | None = None) -> None:
    email_send(subject=subject, body=body, to=to, html=html)
