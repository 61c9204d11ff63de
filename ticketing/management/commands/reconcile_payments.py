from typing import Any

from django.core.management.base import BaseCommand

from ticketing.booking.services import payments_reconcile


class Command(BaseCommand):
    help = "Settle payments whose processor answer was lost (Celery beat runs this every 30 s)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"looked at {payments_reconcile()} unsettled payment(s)")
