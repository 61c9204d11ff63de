"""Real servers for the operations tests: gunicorn with the production configuration, a TCP
proxy in front of PostgreSQL that a test can cut and restore, and a Redis it can freeze."""

import contextlib
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            detail = f"\n--- log ---\n{log.read_text()[-5000:]}" if log and log.exists() else ""
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(0.1)


def database_url_of_test_db(*, host: str | None = None, port: int | None = None) -> str:
    """The URL of the test database pytest-django created, optionally via another address."""
    parts = urlsplit(settings.DATABASE_URL)
    netloc = parts.netloc
    if host is not None:
        user = netloc.rsplit("@", 1)[0] + "@" if "@" in netloc else ""
        netloc = f"{user}{host}:{port}"
    return urlunsplit(
        parts._replace(netloc=netloc, path="/" + settings.DATABASES["default"]["NAME"])
    )


def production_env(**overrides: str) -> dict[str, str]:
    """What an operator sets in production, and nothing else: no DJANGO_SETTINGS_MODULE."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "SECURE_COOKIES",
            "PROMETHEUS_MULTIPROC_DIR",
        }
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="0",  # no TLS proxy in front in a test
        DATABASE_URL=database_url_of_test_db(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CACHE_KEY_PREFIX=str(settings.CACHES["default"]["KEY_PREFIX"]),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
        LOG_FORMAT="json",
    )
    env.update(overrides)
    return env


def collect_static(env: dict[str, str]) -> None:
    from config import devstack

    devstack.collect_static(env)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[str]:
    """`gunicorn -c config/gunicorn.conf.py`, exactly as documented; yields its base URL."""
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own fixed command
            [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "--no-control-socket"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited {process.returncode}:\n{log.read_text()[-5000:]}")
        try:
            httpx.get(f"{url}/healthz", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    try:
        wait_for(answering, timeout=90, what="gunicorn to answer", log=log)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class TcpProxy:
    """Forwards a local port to a server; `cut()` drops every connection and refuses new ones
    (what clients see while PostgreSQL restarts), `restore()` accepts again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stopping = False
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave the
            # socket listening until that accept() returned.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    sock.close()

    def close(self) -> None:
        self._stopping = True
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sockets = [a, b]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.close()


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A Redis of this test's own, so freezing it (SIGSTOP) disturbs nobody else."""
    from config.devstack import redis_server_binary

    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own fixed command
        [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        wait_for(
            lambda: _pings(redis.Redis(port=port, socket_timeout=0.5)),
            timeout=20,
            what="redis-server",
        )
        yield port, process
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
            process.kill()
        process.wait()


def _pings(client: object) -> bool:
    import redis

    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except redis.RedisError:
        return False


@contextlib.contextmanager
def pgbouncer(folder: Path) -> Iterator[int]:
    """Debian's PgBouncer in transaction mode in front of the test database's server."""
    import shutil

    from config.devstack import PG_SYSTEM_USER, _pg_owner

    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    db = settings.DATABASES["default"]
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "userlist.txt").write_text(f'"{db["USER"]}" "{db["PASSWORD"] or ""}"\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{db['NAME']} = host=127.0.0.1 port={db['PORT']} dbname={db['NAME']}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder}/userlist.txt\npool_mode = transaction\n"
        "default_pool_size = 4\nmax_client_conn = 200\nserver_reset_query =\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {folder}/pgbouncer.log\n"
    )
    uid, _ = _pg_owner(folder)
    user = ["-u", PG_SYSTEM_USER] if uid is not None else []
    process = subprocess.Popen(  # noqa: S603 - our own fixed command
        [binary, *user, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _accepts(port), timeout=20, what="pgbouncer", log=folder / "pgbouncer.log")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0
