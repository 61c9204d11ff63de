"""Metrics and request ids through a real gunicorn and a real Celery worker."""

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.notifications.conftest import Inbox, WorkerFactory
from tests.ops.conftest import Buyer
from tests.ops.servers import gunicorn, production_env, wait_for

pytestmark = [pytest.mark.real_celery, pytest.mark.django_db(transaction=True)]


def samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"{url}/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(values: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str):
    wanted = set(labels.items())
    return sum(v for (n, ls), v in values.items() if n == name and wanted <= set(ls))


def register_route_count(values: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
    return sum(
        v
        for (n, ls), v in values.items()
        if n == "boxoffice_http_request_duration_seconds_count"
        and dict(ls)["route"] == "api/v1/events/<event_id>/register"
    )


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def test_a_booking_moves_the_metrics_and_its_request_id_reaches_the_confirmation_task(
    buyer: Buyer,
    collected_static: Path,
    private_broker: str,
    smtp_server: tuple[Inbox, int],
    start_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    inbox, smtp_port = smtp_server
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    shared = {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_FORMAT": "json",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    worker = start_worker(**shared)
    web_log = tmp_path / "gunicorn.log"
    env = production_env(CELERY_BROKER_URL=private_broker, **shared)
    with gunicorn(env, web_log) as url:
        before = samples(url)
        request_id = f"test-{uuid.uuid4().hex[:12]}"
        client = httpx.Client(base_url=url, timeout=30)
        reserved = client.post(
            f"/api/v1/events/{buyer.event.pk}/register",
            headers=buyer.headers(request_id),
            json={"tier_id": str(buyer.tier.pk), "quantity": 2, "idempotency_key": "r-1"},
        )
        assert reserved.status_code == 201, reserved.text
        paid = client.post(
            f"/api/v1/orders/{reserved.json()['order_id']}/pay",
            headers=buyer.headers(request_id),
            json={"idempotency_key": "p-1", "card_number": "4242424242424242"},
        )
        assert paid.status_code == 200, paid.text
        assert paid.headers["X-Request-ID"] == request_id

        wait_for(
            lambda: bool(inbox.to(buyer.email)),
            timeout=60,
            what="the confirmation email",
            log=worker.log,
        )
        # The task that sent it has finished logging by the time its metrics are written.
        wait_for(
            lambda: any(
                line.get("request_id") == request_id and "succeeded" in line.get("message", "")
                for line in json_lines(worker.log)
            ),
            timeout=30,
            what="the worker's log line for the confirmation",
            log=worker.log,
        )
        after = samples(url)

    outcome = "boxoffice_booking_outcomes_total"
    assert (
        total(after, outcome, outcome="confirmed")
        == total(before, outcome, outcome="confirmed") + 1
    )
    assert register_route_count(after) == register_route_count(before) + 1
    assert total(after, "boxoffice_celery_task_duration_seconds_count", queue="notifications") >= 1

    web_lines = [line for line in json_lines(web_log) if line.get("request_id") == request_id]
    assert any(
        line["logger"] == "boxoffice.request" and line["status"] == 200 for line in web_lines
    )
    task_lines = [line for line in json_lines(worker.log) if line.get("request_id") == request_id]
    # The relay run that picks the confirmation up sends it in the same task.
    assert any("notifications.tasks.relay" in line["message"] for line in task_lines), task_lines
