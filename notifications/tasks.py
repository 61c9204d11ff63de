from celery import shared_task

from notifications.services import email_send, order_confirmation_send


# SMTP and network failures are OSErrors: retry those with backoff; anything else is a bug.
@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_rendered_email(subject: str, body: str, to: list[str], html: str | None = None) -> None:
    email_send(subject=subject, body=body, to=to, html=html)


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_order_confirmation(order_id: str) -> None:
    order_confirmation_send(order_id=order_id)
