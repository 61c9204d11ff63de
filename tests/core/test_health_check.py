"""A reused connection is checked before a request's first query without a round trip, and one
the server has closed is still found and replaced."""

import time
from typing import Any

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from core.postgresql.base import quiet

pytestmark = pytest.mark.django_db(transaction=True)

connection: Any = connections[DEFAULT_DB_ALIAS]  # the backend's own object, not the proxy


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _health_check(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the start-of-request check; return the `SELECT 1`s it sent."""
    asked: list[str] = []
    real = type(connection).is_usable

    def is_usable(self: Any) -> bool:
        asked.append("SELECT 1")
        return bool(real(self))

    monkeypatch.setattr(type(connection), "is_usable", is_usable)
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    return asked


def test_an_idle_healthy_connection_is_reused_without_asking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = _backend_pid()
    assert connection.health_check_enabled
    assert _health_check(monkeypatch) == []
    assert connection.connection is not None
    assert _backend_pid() == pid


def test_a_connection_the_server_closed_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    pid = _backend_pid()
    _terminate(pid)
    deadline = time.monotonic() + 5
    while quiet(connection.connection) and time.monotonic() < deadline:
        time.sleep(0.01)  # the server's farewell is on its way
    assert _health_check(monkeypatch) == ["SELECT 1"]
    assert connection.connection is None  # closed, so the next query connects afresh
    assert _backend_pid() != pid


def test_a_connection_inside_a_transaction_gets_the_full_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _backend_pid()
    connection.connection.execute("BEGIN")
    try:
        assert not quiet(connection.connection)
    finally:
        connection.connection.execute("ROLLBACK")
    assert quiet(connection.connection)
