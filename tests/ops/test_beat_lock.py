"""Two `celery beat` processes on one broker: only the lock holder sends."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.ops.servers import BASE_DIR, wait_for

RUN_SECONDS = 8


def beats(broker: str, folder: Path, scheduler: str) -> int:
    """Run two beats for RUN_SECONDS; how many jobs they sent between them."""
    client = redis.Redis.from_url(broker)
    client.delete("celery", "boxoffice:beat:leader")
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "BEAT_LOCK_SECONDS": "3",
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    for number in (1, 2):
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "tests.ops.beat_app",
            "beat",
            "-S",
            scheduler,
            "--schedule",
            str(folder / f"beat-{number}-{scheduler.rsplit('.', 1)[-1]}"),
            "-l",
            "info",
        ]
        log = folder / f"beat-{number}-{scheduler}.log"
        logs.append(log)
        with log.open("wb") as output:
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own fixed command
                    command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
                )
            )
    try:
        wait_for(
            lambda: all("Starting" in log.read_text() for log in logs),
            timeout=90,
            what="both beats to start",
            log=logs[-1],
        )
        time.sleep(1)  # the leader, if any, has been chosen
        before = int(client.llen("celery"))
        time.sleep(RUN_SECONDS)
        return int(client.llen("celery")) - before
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=20)


@pytest.fixture
def broker(private_broker: str) -> Iterator[str]:
    yield private_broker


def test_a_second_beat_cannot_double_schedule(broker: str, tmp_path: Path) -> None:
    locked = beats(broker, tmp_path, "ops.beat.LockedScheduler")
    # Negative control: the same two beats without the lock both send every job.
    unlocked = beats(broker, tmp_path, "celery.beat.PersistentScheduler")

    per_beat = RUN_SECONDS / 0.5
    assert 0 < locked <= per_beat * 1.2, (locked, unlocked)
    assert unlocked > per_beat * 1.5, (locked, unlocked)
