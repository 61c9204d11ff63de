import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, backup_restore, backups


class Command(BaseCommand):
    help = "Restore a backup into an empty database and check its rows against the manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--backup", help="A backup folder (default: the latest in BACKUP_DIR).")
        parser.add_argument(
            "--database-url", required=True, help="The empty database to restore into."
        )
        parser.add_argument("--create", action="store_true", help="CREATE DATABASE it first.")

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["backup"])) if options["backup"] else _latest()
        try:
            result = backup_restore(
                path=path, target_url=str(options["database_url"]), create=bool(options["create"])
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            json.dumps(
                {
                    "backup": str(path),
                    "seconds": round(result.seconds, 2),
                    "matches": result.matches,
                    "tables": result.tables,
                }
            )
        )
        if not result.matches:
            raise CommandError(f"Restored rows differ from the backup: {result.expected}")


def _latest() -> Path:
    found = backups()
    if not found:
        raise CommandError("No backup in BACKUP_DIR.")
    return found[-1]
