"""Beat jobs of the waiting room (the checkout pace is set from ticketing.tasks, which counts)."""

from celery import shared_task

from waitingroom import services


@shared_task
def publish_rooms() -> None:
    services.rooms_publish()
