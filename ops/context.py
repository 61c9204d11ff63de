"""The request id of the work in progress: set per HTTP request and per Celery task.

A context variable, so gunicorn's threads and Celery's task runs each see their own.
"""

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# A caller's id is kept only when it is short and plain: it ends up in every log line.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """The caller's id when it is safe to log, else a fresh one."""
    if value and _ACCEPTED.match(value):
        return value
    return new_request_id()
