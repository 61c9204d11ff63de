import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("boxoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _database_connection_checked(sender: Any = None, **_: Any) -> None:
    """Before each task, what Django does before each request: drop a connection that failed or
    outlived CONN_MAX_AGE. Celery's own fixup would close every connection around every task
    (CELERY_DB_REUSE_MAX stops that): a new connection costs PostgreSQL a backend start and
    cold catalog caches, more than a small task's statements themselves."""
    if getattr(sender.request, "is_eager", False):  # inline: the caller's connection, mid-work
        return
    from django.db import close_old_connections

    close_old_connections()
