"""Thin Celery wrappers: ids in, one service call each; safe to run twice."""

from celery import shared_task

from events.services import event_cover_variants_build


@shared_task
def event_cover_process(event_id: str) -> None:
    event_cover_variants_build(event_id=event_id)
