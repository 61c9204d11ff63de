"""Prove the latest backup restores: into a scratch database, rows and checksums of orders,
tickets, payments and admissions as in the dump, and a ticket QR signed before the backup
verifying against the restored signing keys."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import (
    backup_restore,
    backup_secrets,
    backups,
    database_url,
    drop_database,
    with_database,
)

VERIFY = (
    "import os, django; django.setup(); from checkin.signing import payload_verify; "
    "print(payload_verify(os.environ['DRILL_PAYLOAD']).ticket_id)"
)


class Command(BaseCommand):
    help = "Restore the latest backup into a scratch database and prove it matches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--backup", help="A backup folder (default: the latest).")
        parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")

    def handle(self, *args: object, **options: object) -> None:
        found = [Path(str(options["backup"]))] if options["backup"] else backups()
        if not found:
            raise CommandError("No backup to drill: run manage.py backup first.")
        path = found[-1]
        scratch = with_database(
            database_url(), f"{settings.DATABASES['default']['NAME']}_drill_{int(time.time())}"
        )
        try:
            result = backup_restore(path=path, target_url=scratch, create=True)
            secrets = backup_secrets(path)
            ticket = self._verify_ticket(scratch, secrets)
        finally:
            if not options["keep"]:
                drop_database(scratch)
        report = {
            "backup": str(path),
            "restore_seconds": round(result.seconds, 2),
            "tables": {
                label: {**result.tables[label], "matches": result.tables[label] == expected}
                for label, expected in result.expected.items()
            },
            "signed_ticket_verifies": ticket,
            "ok": result.matches and ticket is not False,
        }
        self.stdout.write(json.dumps(report))
        if not report["ok"]:
            raise CommandError("Restore drill failed: see the report above.")

    def _verify_ticket(self, scratch: str, secrets: dict[str, object]) -> bool | None:
        """Verify the QR signed at backup time with the restored keys (None: no ticket then)."""
        sample = secrets.get("sample_ticket")
        if not isinstance(sample, dict):
            return None
        env = {
            **os.environ,
            "DATABASE_URL": scratch,
            "DRILL_PAYLOAD": sample["payload"],
            # The restored keys decrypt only with the secret saved beside them.
            "BOXOFFICE_SIGNING_SECRET": str(secrets["signing_secret"]),
            "BOXOFFICE_ENCRYPTION_KEYS": _keys(secrets.get("encryption_keys")),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        checked = subprocess.run(  # noqa: S603 - our own fixed command
            [sys.executable, "-c", VERIFY],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if checked.returncode != 0:
            self.stderr.write(checked.stderr[-2000:])
            return False
        return checked.stdout.strip().splitlines()[-1] == sample["ticket_id"]


def _keys(saved: object) -> str:
    """The saved BOXOFFICE_ENCRYPTION_KEYS as the variable spells them (a backup made before
    they existed has none: SECRET_KEY opens its secrets)."""
    return ",".join(str(key) for key in saved) if isinstance(saved, list) else ""
