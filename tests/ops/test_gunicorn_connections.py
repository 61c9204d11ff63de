"""The production gunicorn keeps a connection alive only while its worker has a thread for each
connection it holds; past that it closes after the answer, so the client's next connection goes
to whichever worker accepts first instead of queueing on a busy one."""

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.ops.servers import gunicorn, production_env

pytestmark = pytest.mark.django_db


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)


def _connection_header(connection: http.client.HTTPConnection) -> str:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    return (response.getheader("Connection") or "keep-alive").lower()


@pytest.fixture
def server(
    request: pytest.FixtureRequest,
    collected_static: Path,
    django_db_setup: None,
    tmp_path: Path,
) -> Iterator[str]:
    env = production_env(WEB_CONCURRENCY="1", GUNICORN_THREADS=str(request.param))
    with gunicorn(env, tmp_path / "gunicorn.log") as url:
        yield url


@pytest.mark.parametrize(
    ("server", "second"),
    [(1, "close"), (2, "keep-alive")],  # the second: a negative control, a thread for each
    indirect=["server"],
)
def test_a_worker_holding_more_connections_than_threads_closes_after_the_answer(
    server: str, second: str
) -> None:
    first, other = _connection(server), _connection(server)
    try:
        assert _connection_header(first) == "keep-alive"  # one connection, one thread

        assert _connection_header(other) == second  # the first is still held by the worker
    finally:
        first.close()
        other.close()
