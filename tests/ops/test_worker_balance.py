"""New connections go to the gunicorn worker that holds the fewest (config/gunicorn_worker.py),
against real gunicorn processes started with the project's configuration."""

import http.client
import os
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from config.gunicorn_worker import accept_defers
from tests.ops.servers import gunicorn, production_env, wait_for

pytestmark = [pytest.mark.django_db, pytest.mark.serial]

WORKERS = 3
THREADS = 2
CLIENTS = 12


def test_a_worker_steps_back_only_when_it_is_full_and_another_holds_fewer() -> None:
    assert not accept_defers(1, [1, 0, 0], threads=2)  # an idle thread: take it
    assert accept_defers(2, [2, 0, 1], threads=2)
    assert not accept_defers(2, [2, 2, 2], threads=2)  # nobody emptier: take it
    assert not accept_defers(3, [3, 3, 4], threads=2)


def connections_per_process(port: int, states: tuple[str, ...] = ("01",)) -> Counter[int]:
    """How many connections to `port` in `states` (/proc/net/tcp codes; 01 is ESTABLISHED)
    each process holds, from /proc."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] in states:
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


def _spread_of_one_by_one_connections(port: int) -> list[int]:
    """CLIENTS kept-alive connections opened one after the other, each used once, as browsers
    arriving over a minute would; how many each worker holds then, fewest first (a worker that
    holds none counts as 0). The connections are closed, and the workers have let go of them,
    when this returns."""
    clients = []
    try:
        for _ in range(CLIENTS):
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            client.request("GET", "/healthz")
            response = client.getresponse()
            response.read()
            assert response.status == 200
            clients.append(client)
        held = connections_per_process(port)
        assert len(held) <= WORKERS  # only the workers hold the server's side of a connection
        return sorted([0] * (WORKERS - len(held)) + list(held.values()))
    finally:
        for client in clients:
            client.close()
        # ESTABLISHED or CLOSE_WAIT: a worker still counts the connection.
        wait_for(
            lambda: not connections_per_process(port, states=("01", "08")),
            timeout=30,
            what="the workers to close the connections",
        )


ROUNDS = 3


@pytest.mark.parametrize(
    ("worker_class", "balanced"),
    [
        (None, True),
        # The control: gunicorn's own gthread worker, the same server otherwise. Idle workers
        # race for each connection (seen: 0/2/10, 1/5/6, 0/6/6, 3/4/5); an even split in every
        # round, or in all but one, would be chance.
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
        # Not counted: gunicorn answers health checks before every worker has booted, and a
        # worker still booting cannot take its share.
        _spread_of_one_by_one_connections(port)
        spreads = [_spread_of_one_by_one_connections(port) for _ in range(ROUNDS)]
    even = [CLIENTS // WORKERS] * WORKERS
    rounds_even = sum(spread == even for spread in spreads)
    if balanced:
        # A fuller worker steps back for at most ACCEPT_DEFERS_MAX short waits, so a worker the
        # machine did not schedule in time may miss one connection (seen: 3/4/5 once in a round).
        assert rounds_even >= ROUNDS - 1, spreads
        assert all(max(spread) - min(spread) <= 2 for spread in spreads), spreads
    else:
        assert rounds_even < ROUNDS - 1, spreads
