from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.audit import Break, verify


class Command(BaseCommand):
    help = "Prove the audit trail's hash chains intact, or name the first broken row of each."

    def handle(self, *args: Any, **options: Any) -> None:
        breaks: list[Break] = []
        rows = chains = 0
        for result in verify():
            if isinstance(result, Break):
                breaks.append(result)
                self.stderr.write(
                    f"BROKEN chain {result.chain}: first bad row id={result.entry_id} "
                    f"seq={result.seq}: {result.reason}"
                )
            else:
                chains += 1
                rows += result[1]
        if breaks:
            raise CommandError(f"{len(breaks)} audit chain(s) broken")
        self.stdout.write(f"Audit trail intact: {rows} rows in {chains} chain(s).")
