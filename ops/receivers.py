"""Observers: booking outcomes from ticketing's signals, and request ids and metrics for Celery."""

import time
from contextvars import Token
from typing import Any

from celery import signals as celery_signals
from django.db import transaction
from django.dispatch import receiver

from ops.context import TASK_HEADER, request_id
from ops.metrics import TASK_DURATION, TASK_FAILURES, TASK_RETRIES, booking_outcome
from ticketing.signals import order_confirmed

# The beat task whose return value is the number of holds that ran out.
EXPIRY_TASK = "ticketing.tasks.release_expired_holds"

_running: dict[str, tuple[float, Token[str | None]]] = {}


@receiver(order_confirmed)
def on_order_confirmed(sender: Any, order_id: Any, **kwargs: Any) -> None:
    # Sent inside the payment's transaction: count it only once it is committed.
    transaction.on_commit(lambda: booking_outcome("confirmed"))


def _queue(task: Any) -> str:
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or "celery"


@celery_signals.before_task_publish.connect
def add_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """The id of the request (or task) that publishes travels with the task."""
    current = request_id.get()
    if current and headers is not None:
        headers.setdefault(TASK_HEADER, current)


@celery_signals.task_prerun.connect
def task_started(task_id: str, task: Any, **kwargs: Any) -> None:
    sent = getattr(task.request, TASK_HEADER, None)
    token = request_id.set(sent or request_id.get() or f"task-{task_id}")
    _running[task_id] = (time.perf_counter(), token)


@celery_signals.task_postrun.connect
def task_finished(
    task_id: str, task: Any, retval: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    started = _running.pop(task_id, None)
    if started is None:
        return
    began, token = started
    TASK_DURATION.labels(task=task.name, queue=_queue(task), state=state or "UNKNOWN").observe(
        time.perf_counter() - began
    )
    if task.name == EXPIRY_TASK and isinstance(retval, int):
        booking_outcome("expired", retval)
    try:
        request_id.reset(token)
    except ValueError:  # reset from another context (eager tasks nested in a request)
        request_id.set(None)


@celery_signals.task_retry.connect
def task_retried(sender: Any = None, **kwargs: Any) -> None:
    if sender is not None:
        TASK_RETRIES.labels(task=sender.name, queue=_queue(sender)).inc()


@celery_signals.task_failure.connect
def task_failed(sender: Any = None, **kwargs: Any) -> None:
    if sender is not None:
        TASK_FAILURES.labels(task=sender.name, queue=_queue(sender)).inc()


@celery_signals.worker_process_shutdown.connect
def worker_child_exited(pid: int | None = None, **kwargs: Any) -> None:
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
