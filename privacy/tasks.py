"""Thin Celery wrappers: ids in, one service call each; safe to run twice."""

from celery import shared_task

from privacy.exports import export_build, exports_expire
from privacy.retention import retention_apply as retention_apply_service


@shared_task
def export_build_task(export_id: str) -> None:
    export_build(export_id=export_id)


@shared_task
def retention_apply() -> None:
    retention_apply_service()
    exports_expire()
