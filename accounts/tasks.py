"""Thin Celery wrappers: ids in, one service call each; safe to run twice."""

from celery import shared_task

from accounts.services import dead_tokens_delete, organization_logo_variants_build


@shared_task
def organization_logo_process(organization_id: str) -> None:
    organization_logo_variants_build(organization_id=organization_id)


@shared_task
def dead_tokens_purge() -> None:
    dead_tokens_delete()
