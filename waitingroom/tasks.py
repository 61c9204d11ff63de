"""Beat jobs of the waiting room; each has a management-free service behind it."""

from celery import shared_task

from waitingroom import services


@shared_task
def apply_checkout_pace() -> None:
    services.checkout_pace_apply()


@shared_task
def publish_rooms() -> None:
    services.rooms_publish()
