"""Database helpers shared by the apps."""

import contextlib

from django.db import connection, transaction


def single_statement_atomic() -> contextlib.AbstractContextManager[object]:
    """Make one statement safe to fail: a savepoint inside a transaction, nothing outside.

    In autocommit a single statement is already its own transaction, so BEGIN/COMMIT would
    only add two round trips; inside a transaction a failed statement would otherwise abort it.
    """
    return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
