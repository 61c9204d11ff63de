from typing import Any

from django.core.management.base import BaseCommand

from ticketing.booking.gate import gate_sync


class Command(BaseCommand):
    help = "Rebuild the Redis admission counters from PostgreSQL (beat runs this every minute)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"synced {gate_sync()} tier counter(s)")
