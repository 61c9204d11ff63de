"""The web server's request-line limit and the app's search limit agree, against a real gunicorn
started with the project's own config (config/gunicorn.conf.py) on a free port."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings

from events.search import MAX_QUERY_CHARS

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
REQUEST_LINE_MAX = 8190  # config/gunicorn.conf.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url_of_the_test_database() -> str:
    """DATABASE_URL with the test database's name, so the server reads what the tests built."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))


@pytest.fixture
def gunicorn(db: None, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = os.environ | {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "DATABASE_URL": database_url_of_the_test_database(),
        "DEBUG": "1",  # the test settings' own: no SECRET_KEY or TLS redirect needed
    }
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603 - our own fixed command
            [str(GUNICORN), "-c", "config/gunicorn.conf.py", "config.wsgi"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{log.read_text()}")
            try:  # the master binds before its worker boots: wait for an answer, not a socket
                get(port, "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield port
        print(log.read_text())  # shown when a test fails
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def get(port: int, target: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", target, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        conn.close()


def test_a_5000_character_search_gets_the_apps_json_error_not_an_html_page(gunicorn: int) -> None:
    status, content_type, body = get(gunicorn, "/api/v1/events?q=" + "x" * 5000)

    assert status == 422, body[:300]
    assert content_type.startswith("application/json")
    assert json.loads(body)["error"]["code"] == "QUERY_TOO_LONG"


def test_a_5000_character_search_on_the_page_is_a_form_error(gunicorn: int) -> None:
    status, content_type, body = get(gunicorn, "/events/?q=" + "x" * 5000)

    assert status == 200
    assert content_type.startswith("text/html")
    assert f"A search can be at most {MAX_QUERY_CHARS} characters long." in body


def test_the_longest_search_fully_encoded_fits_the_request_line(gunicorn: int) -> None:
    longest = quote("😀" * MAX_QUERY_CHARS)  # 12 bytes a character once percent-encoded
    filters = "&category=concerts&city=Vienna&when=weekend&sort=date&per_page=100&page=2"
    target = f"/api/v1/events?q={longest}{filters}"
    assert len(f"GET {target} HTTP/1.1") < REQUEST_LINE_MAX

    status, content_type, _ = get(gunicorn, target)

    assert status in (200, 404)  # answered by the app (404: no such category in an empty db)
    assert content_type.startswith("application/json")


def test_a_request_line_over_gunicorns_limit_is_a_json_414(gunicorn: int) -> None:
    status, content_type, body = get(gunicorn, "/api/v1/events?q=" + "x" * REQUEST_LINE_MAX)

    assert status == 414
    assert content_type.startswith("application/json")
    assert json.loads(body)["error"]["code"] == "URI_TOO_LONG"
