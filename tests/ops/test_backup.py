"""Backups that are restored: manage.py backup, restore and restore_drill on a small database."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import User
from checkin.services import checkin_list_default, ticket_scan
from checkin.signing import ticket_payload_sign
from events.models import TicketTier
from ops.backup import (
    BackupError,
    backup_create,
    backup_restore,
    backups,
    backups_prune,
    database_url,
    drop_database,
    new_key,
    with_database,
)
from tests.factories import order_paid

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def backup_settings(settings: SettingsWrapper, tmp_path: Path) -> Path:
    settings.BACKUP_ENCRYPTION_KEY = new_key()
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings.BACKUP_DIR


@pytest.fixture
def sales(attendee: User, tier: TicketTier) -> None:
    """Paid orders, their tickets and payments, and one admission at the door."""
    first = order_paid(buyer=attendee, tier=tier, quantity=2)
    order_paid(buyer=attendee, tier=tier, quantity=1)
    ticket = first.tickets[0]
    ticket_scan(
        payload=ticket_payload_sign(ticket),
        checkin_list=checkin_list_default(tier.event),
        scanned_by=None,
    )


def run(command: str, *args: str) -> dict[str, object]:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def test_restore_drill_proves_the_latest_backup_matches(backup_settings: Path, sales: None) -> None:
    made = run("backup")
    report = run("restore_drill")

    assert report["ok"] is True
    assert report["backup"] == made["backup"]
    tables = report["tables"]
    assert isinstance(tables, dict)
    assert {label: tables[label]["rows"] for label in tables} == {
        "orders": 2,
        "tickets": 3,
        "payments": 2,
        "admissions": 1,
    }
    assert all(entry["matches"] for entry in tables.values())
    assert report["signed_ticket_verifies"] is True
    # The backup holds no plaintext: neither the dump nor the signing secret.
    folder = Path(str(made["backup"]))
    assert sorted(p.name for p in folder.iterdir()) == [
        "database.dump.enc",
        "manifest.json",
        "secrets.json.enc",
    ]
    assert b"PGDMP" not in (folder / "database.dump.enc").read_bytes()[:64]


def test_restore_drill_fails_when_the_restore_differs_from_the_backup(
    backup_settings: Path, sales: None
) -> None:
    # Negative control: a manifest that disagrees with the dump must fail the drill.
    path = backup_create().path
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["tables"]["tickets"]["rows"] += 1
    (path / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(CommandError, match="Restore drill failed"):
        call_command("restore_drill", stdout=StringIO())


def test_a_damaged_or_foreign_backup_is_refused(
    backup_settings: Path, sales: None, settings: SettingsWrapper
) -> None:
    path = backup_create().path
    target = with_database(database_url(), "test_boxoffice_restore_refused")
    drop_database(target)

    settings.BACKUP_ENCRYPTION_KEY = new_key()
    with pytest.raises(BackupError, match="wrong key or damaged"):
        backup_restore(path=path, target_url=target, create=True)
    drop_database(target)

    dump = path / "database.dump.enc"
    data = bytearray(dump.read_bytes())
    data[100] ^= 1
    dump.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="SHA-256"):
        backup_restore(path=path, target_url=target, create=True)


def test_retention_keeps_recent_backups_and_a_minimum_count(
    backup_settings: Path, settings: SettingsWrapper
) -> None:
    settings.BACKUP_RETENTION_DAYS = 7
    settings.BACKUP_RETENTION_MIN_COUNT = 2
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for days_ago in (30, 20, 10, 3):
        created = now - timedelta(days=days_ago)
        folder = backup_settings / f"boxoffice-{created:%Y%m%dT%H%M%S%fZ}"
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"created_at": created.isoformat()}))

    removed = backups_prune(now=now)

    assert [p.name[10:18] for p in removed] == ["20261101", "20261111"]
    assert [p.name[10:18] for p in backups()] == ["20261121", "20261128"]
