"""New connections go to the gunicorn worker that holds the fewest (config/gunicorn_worker.py),
against real gunicorn processes started with the project's configuration."""

import http.client
import os
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from config.gunicorn_worker import accept_defers
from tests.ops.servers import gunicorn, production_env

pytestmark = pytest.mark.django_db

WORKERS = 3
THREADS = 2
CLIENTS = 12


def test_a_worker_steps_back_only_when_it_is_full_and_another_holds_fewer() -> None:
    assert not accept_defers(1, [1, 0, 0], threads=2)  # an idle thread: take it
    assert accept_defers(2, [2, 0, 1], threads=2)
    assert not accept_defers(2, [2, 2, 2], threads=2)  # nobody emptier: take it
    assert not accept_defers(3, [3, 3, 4], threads=2)


def connections_per_process(port: int) -> Counter[int]:
    """How many established connections to `port` each process holds, from /proc."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    held: Counter[int] = Counter()
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            descriptors = list((process / "fd").iterdir())
        except OSError:  # gone, or not ours
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in inodes:
                    held[int(process.name)] += 1
            except OSError:
                continue
    return held


def _open_one_by_one(port: int) -> tuple[list[http.client.HTTPConnection], list[int]]:
    """CLIENTS kept-alive connections opened one after the other, each used once, as browsers
    arriving over a minute would."""
    clients = []
    for _ in range(CLIENTS):
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        client.request("GET", "/healthz")
        response = client.getresponse()
        response.read()
        assert response.status == 200
        clients.append(client)
    return clients, sorted(connections_per_process(port).values())


@pytest.mark.parametrize(
    ("worker_class", "balanced"),
    [
        (None, True),
        # The control: gunicorn's own gthread worker, the same server otherwise. Idle workers
        # race for each connection, and one that has just answered wins it again.
        ("gthread", False),
    ],
)
def test_kept_alive_connections_spread_evenly_over_the_workers(
    collected_static: Path,
    django_db_setup: None,
    tmp_path: Path,
    worker_class: str | None,
    balanced: bool,
) -> None:
    env = production_env(WEB_CONCURRENCY=str(WORKERS), GUNICORN_THREADS=str(THREADS))
    if worker_class:
        env["GUNICORN_CMD_ARGS"] = f"--worker-class {worker_class}"
    with gunicorn(env, tmp_path / "gunicorn.log") as url:
        port = urlsplit(url).port
        assert port is not None
        clients, spread = _open_one_by_one(port)
        try:
            assert sum(spread) == CLIENTS
            if balanced:
                assert spread == [CLIENTS // WORKERS] * WORKERS
            else:
                assert max(spread) - min(spread) > 1, spread
        finally:
            for client in clients:
                client.close()
