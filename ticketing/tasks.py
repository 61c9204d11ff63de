from celery import shared_task

from ticketing.services import orders_release_expired


@shared_task
def release_expired_holds() -> int:
    return orders_release_expired()
