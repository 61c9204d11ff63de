"""Database helpers shared by the apps."""

import contextlib
from collections.abc import Iterator
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.db.backends.utils import CursorDebugWrapper
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


class _PreparingCursor(psycopg.Cursor[Any]):
    """Binds values on the server and prepares every statement it runs (or, behind a
    transaction pooler, none: see `prepared_cursor`)."""

    prepare_all = True

    def execute(  # type: ignore[override]
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool = False
    ) -> "_PreparingCursor":
        super().execute(query, params, prepare=self.prepare_all, binary=binary)
        return self


class _PreparedDebugCursor(CursorDebugWrapper):
    """Django's query log for `prepared_cursor`: the statement as written, with its values
    beside it (Django would ask psycopg for the text it interpolated, and there is none)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return super(CursorDebugWrapper, self).execute(sql, params)


@contextlib.contextmanager
def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> Iterator[Any]:
    """A cursor for the statements a rush or a door repeats, each planned once per connection.

    Django's cursors bind values on the client: PostgreSQL parses and plans every statement
    anew (0.1-0.3 ms of its CPU for a statement of a few CTEs) and psycopg quotes every value
    into the text. These statements are sent with their values apart and prepared once per
    connection. The cursor is wrapped as Django wraps its own, so errors, query logging and
    `execute_wrapper`s (statement counts in tests) see it like any other.

    Behind a transaction pooler (DATABASE_TRANSACTION_POOLING) the next transaction may run on
    another server connection, which does not know a statement this one prepared, or knows
    another one under the same name: there the values are still sent apart, unprepared.
    """
    database = connections[using]
    database.ensure_connection()
    raw = database.connection
    prepare = not settings.DATABASE_TRANSACTION_POOLING
    if prepare and raw.prepare_threshold is None:
        # Django turns psycopg's automatic preparing off; explicit preparing needs a number
        # here, and one that is never reached leaves Django's own cursors as they were.
        raw.prepare_threshold = 2**31
    with database.wrap_database_errors:
        cursor: Any = _PreparingCursor(raw)  # a database cursor, which Django's wrappers take
    cursor.prepare_all = prepare
    wrapped = (
        _PreparedDebugCursor(cursor, database)
        if database.queries_logged
        else database.make_cursor(cursor)
    )
    with wrapped:
        yield wrapped


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
