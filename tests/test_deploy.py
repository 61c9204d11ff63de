"""Production readiness: Django's deploy checks and the /healthz endpoint compose relies on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from pytest_django.fixtures import Settings as SettingsFixture

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "t3st-0nly-Qm9Kx7vLw2Zp8Rn4Yc6Bd1Hf5Jg3Ts0Ua9Ve2Wi7Xo4Ly6Mk8Nq1Pr5Sz",
    "ALLOWED_HOSTS": "tickets.example.com",
    "SITE_URL": "https://tickets.example.com",
}
# Variables a developer's shell might set that would weaken the production defaults under test.
OVERRIDES_TO_DROP = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD")


def test_deploy_check_reports_no_warnings_with_production_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES_TO_DROP}
    env.update(PRODUCTION_ENV)
    env["DATABASE_URL"] = django_settings.DATABASE_URL
    env["REDIS_URL"] = django_settings.REDIS_URL
    env.pop("DJANGO_SETTINGS_MODULE", None)
    assert len(env["SECRET_KEY"]) >= 50

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output
    assert "no issues" in output


@pytest.mark.django_db
def test_healthz_reports_database_redis_and_broker_ok(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
    }


@pytest.mark.django_db
def test_healthz_answers_plain_http_while_other_pages_redirect_to_https(
    client: Client, settings: SettingsFixture
) -> None:
    # Compose's healthcheck calls http://127.0.0.1:8000/healthz inside the container.
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    home = client.get("/")
    assert home.status_code == 301
    assert home["Location"].startswith("https://")


def test_container_healthcheck_sends_the_public_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.healthcheck import host_header

    monkeypatch.setenv("SITE_URL", "https://tickets.example.com")
    monkeypatch.setenv("ALLOWED_HOSTS", "tickets.example.com,www.example.com")
    assert host_header() == "tickets.example.com"

    monkeypatch.setenv("ALLOWED_HOSTS", ".example.org")
    assert host_header() == "example.org"
