"""Database helpers shared by the apps."""

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

import psycopg.errors
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import Model, QuerySet

from core.errors import Busy

_Row = TypeVar("_Row", bound=Model)

# How long a service waits for a row someone else is changing before it answers BUSY.
LOCK_TIMEOUT = "3s"


def single_statement_atomic() -> contextlib.AbstractContextManager[object]:
    """Make one statement safe to fail: a savepoint inside a transaction, nothing outside.

    In autocommit a single statement is already its own transaction, so BEGIN/COMMIT would
    only add two round trips; inside a transaction a failed statement would otherwise abort it.
    """
    return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()


@contextlib.contextmanager
def busy_on_lock_timeout() -> Iterator[None]:
    """Inside a transaction: wait at most LOCK_TIMEOUT for row locks, then raise `Busy`.

    Also a decorator; put it under `@transaction.atomic`, as SET LOCAL needs the transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        yield
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise Busy() from exc
        raise


def row_or_raise(queryset: QuerySet[_Row], missing: Exception, **lookup: Any) -> _Row:
    """The one row of `queryset` matching `lookup`, or raise `missing`.

    Ids come from URLs and request bodies: one that is malformed (not a UUID, not a number) is
    as missing as one that names no row, never a 500.
    """
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise missing from exc
