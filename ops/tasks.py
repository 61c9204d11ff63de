"""Beat's backup: the same service as `manage.py backup`."""

from celery import shared_task

from ops.backup import backup_create, backups_prune


@shared_task(acks_late=False)  # a dump is not safe to run twice at once: never redelivered
def backup_database() -> str:
    result = backup_create()
    backups_prune()
    return str(result.path)
