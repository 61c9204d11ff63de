import json

from django.core.management.base import BaseCommand, CommandParser

from ops.backup import backup_create, backups_prune, new_key


class Command(BaseCommand):
    help = "Dump the database, encrypted, with the secrets a restore needs; apply retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", help="Backup folder (default BACKUP_DIR).")
        parser.add_argument("--no-prune", action="store_true", help="Keep every old backup.")
        parser.add_argument(
            "--new-key", action="store_true", help="Print a new BACKUP_ENCRYPTION_KEY and stop."
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["new_key"]:
            self.stdout.write(new_key())
            return
        directory = options["dir"] or None
        result = backup_create(directory=directory)  # type: ignore[arg-type]
        removed = [] if options["no_prune"] else backups_prune(directory=directory)  # type: ignore[arg-type]
        self.stdout.write(
            json.dumps(
                {
                    "backup": str(result.path),
                    "seconds": round(result.seconds, 2),
                    "bytes": result.dump_bytes,
                    "tables": result.tables,
                    "pruned": [str(p) for p in removed],
                }
            )
        )
