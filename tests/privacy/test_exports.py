"""A person's data export: what the zip holds, who may download it and for how long, and the
job as production runs it (a real Celery worker, the link mailed over real SMTP)."""

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import AuditEntry
from notifications.models import Message, Topic
from privacy.exports import SECTIONS, export_link, export_request
from privacy.models import DataExport
from tests.factories import UserFactory
from tests.notifications.conftest import Inbox, smtp_server  # noqa: F401 - a fixture
from tests.privacy.scenario import buyer_with_history
from tests.waitlist.worker import Worker, own_broker, worker_running  # noqa: F401 - a fixture


def _unzip(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.mark.django_db(transaction=True)
def test_the_zip_holds_every_part_as_json_and_csv_and_the_link_is_mailed() -> None:
    buyer = buyer_with_history()
    mail.outbox.clear()

    export = export_request(user=buyer.user)  # eager here: built on commit

    export.refresh_from_db()
    assert (export.status, export.progress) == (DataExport.Status.READY, 100)
    assert export.archive is not None
    files = _unzip(bytes(export.archive))
    for name, _ in SECTIONS:
        assert f"{name}.json" in files and f"{name}.csv" in files
    assert json.loads(files["profile.json"])[0]["email"] == buyer.email
    orders = json.loads(files["orders.json"])
    assert sorted(o["event"] for o in orders) == ["Last Winter", "Spring Gala", "Summer Festival"]
    assert len(json.loads(files["tickets.json"])) == 6
    assert json.loads(files["feedback.json"])[0]["rating"] == 5
    assert {"signin.failed", "signin.success", "privacy.export_request"} <= {
        row["action"] for row in json.loads(files["audit.json"])
    }
    assert "Spring Gala" in files["orders.csv"]
    # The request is audited; the link goes out through the outbox, by mail.
    assert AuditEntry.objects.filter(
        action="privacy.export_request", actor=buyer.user, target_id=str(export.pk)
    ).exists()
    message = Message.objects.get(topic=Topic.DATA_EXPORT_READY)
    assert message.data["link"].startswith(f"/account/privacy/exports/{export.pk}/download?t=")
    [sent] = [m for m in mail.outbox if "data export" in m.subject]
    assert sent.to == [buyer.email]
    assert f"/account/privacy/exports/{export.pk}/download?t=" in sent.body


@pytest.mark.django_db(transaction=True)
def test_the_link_opens_only_for_its_person_only_with_its_token_and_only_until_it_expires(
    settings: Any,
) -> None:
    user = UserFactory.create()
    export = export_request(user=user)
    link = export_link(export)
    owner, stranger = Client(), Client()
    owner.force_login(user)
    stranger.force_login(UserFactory.create())

    assert Client().get(link).status_code == 302  # sign in first
    assert stranger.get(link).status_code == 404
    assert owner.get(link.replace("?t=", "?t=x")).status_code == 410
    other = export_request(user=user)  # the first is finished: a second one is made
    assert (
        owner.get(f"/account/privacy/exports/{other.pk}/download?" + link.split("?")[1]).status_code
        == 410
    )

    download = owner.get(link)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "profile.json" in _unzip(download.content)
    assert AuditEntry.objects.filter(action="privacy.export_download", actor=user).count() == 1

    settings.PRIVACY_EXPORT_LINK_HOURS = 0  # every link is past its age now
    time.sleep(1)
    assert owner.get(link).status_code == 410


@pytest.fixture
def worker(
    own_broker: str,  # noqa: F811
    smtp_server: tuple[Inbox, int],  # noqa: F811
    tmp_path: Path,
) -> Iterator[Worker]:
    with worker_running(
        own_broker,
        tmp_path,
        queues=("celery", "notifications"),
        env={"EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[1]}"},
    ) as worker:
        yield worker


@pytest.mark.real_celery
@pytest.mark.django_db(transaction=True)
def test_a_worker_builds_the_export_the_page_polls_its_progress_and_the_mailed_link_downloads(
    worker: Worker,
    smtp_server: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, _ = smtp_server
    buyer = buyer_with_history()
    client = Client()
    client.force_login(buyer.user)

    assert client.post("/account/privacy/exports").status_code == 302
    export = DataExport.objects.get(user=buyer.user)
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/account/privacy/exports/{export.pk}/status").json()
        seen.append(state["progress"])
        if state["status"] == "ready":
            break
        time.sleep(0.05)
    assert state["status"] == "ready", worker.logs()
    assert seen == sorted(seen) and seen[-1] == 100
    # Told by mail, through the outbox, with a link that downloads the zip.
    deadline = time.monotonic() + 30
    while not inbox.to(buyer.email) or not any(
        "data export" in m["Subject"] for m in inbox.to(buyer.email)
    ):
        assert time.monotonic() < deadline, worker.logs()
        time.sleep(0.1)
    [sent] = [m for m in inbox.to(buyer.email) if "data export" in m["Subject"]]
    body = sent.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"https?://[^/\s]+(/account/privacy/exports/\S+)", body.get_content())
    assert found is not None
    path = found.group(1)
    download = client.get(path)
    assert download.status_code == 200
    assert json.loads(_unzip(download.content)["profile.json"])[0]["email"] == buyer.email
