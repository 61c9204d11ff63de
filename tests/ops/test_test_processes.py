"""Under `pytest -n` each test process has a Redis database of its own (config/settings.py);
the servers its tests start must use that same one, whether they inherit REDIS_URL from the
process's environment or are handed the process's setting."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]


def redis_url_of_a_started_process(env: dict[str, str]) -> str:
    code = "from django.conf import settings; print(settings.REDIS_URL)"
    env = env | {"DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(  # noqa: S603 - our own fixed command
        [sys.executable, "-c", code],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("handed_the_setting", [False, True], ids=["inherited", "handed"])
def test_a_server_a_test_starts_uses_the_test_process_redis_database(
    handed_the_setting: bool,
) -> None:
    env = dict(os.environ)
    if handed_the_setting:
        env["REDIS_URL"] = settings.REDIS_URL
    assert redis_url_of_a_started_process(env) == settings.REDIS_URL


def test_control_without_the_done_mark_a_second_process_moves_the_database_again() -> None:
    # What the second test process's servers did before the move was marked as done.
    env = dict(os.environ) | {"PYTEST_XDIST_WORKER": "gw1", "REDIS_URL": settings.REDIS_URL}
    env.pop("REDIS_URL_OF_TEST_PROCESS", None)
    moved = urlsplit(redis_url_of_a_started_process(env)).path
    assert moved == f"/{int(urlsplit(settings.REDIS_URL).path.strip('/') or 0) + 1}"
