"""A real gunicorn with the project's config (config/gunicorn.conf.py) on the test database."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

BASE_DIR = Path(__file__).resolve().parents[2]
BIN = BASE_DIR / ".venv" / "bin"

StartServer = Callable[..., str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def gunicorn_server(transactional_db: None, tmp_path: Path) -> Iterator[StartServer]:
    """Start gunicorn on a free port against this test's database; returns its URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        environ = dict(os.environ)
        environ.update(
            {
                "DATABASE_URL": database_url(),
                "REDIS_URL": str(settings.REDIS_URL),
                "CACHE_KEY_PREFIX": str(settings.CACHES["default"]["KEY_PREFIX"]),
                "DEBUG": "1",
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "SITE_URL": url,
                "WEB_CONCURRENCY": "2",
                "DB_CONN_MAX_AGE": "0",  # the test database is flushed after the test
                "CELERY_TASK_ALWAYS_EAGER": "1",
            }
        )
        environ.update(env)
        log = (tmp_path / f"gunicorn-{port}.log").open("ab")
        command = [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "--no-control-socket"]
        process = subprocess.Popen(  # noqa: S603 - our own fixed command
            [*command, "config.wsgi"],
            env=environ,
            cwd=BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        deadline = time.monotonic() + 60
        while not _serving(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start: {(tmp_path / f'gunicorn-{port}.log')}")
            time.sleep(0.2)
        return url

    yield start
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def production_password_hash() -> Callable[[str], str]:
    """A hash the server's own (production) hashers accept; the test process hashes with MD5."""
    cache: dict[str, str] = {}

    def make(password: str) -> str:
        if password not in cache:
            cache[password] = PBKDF2PasswordHasher().encode(password, "fixedsaltfortests")
        return cache[password]

    return make
