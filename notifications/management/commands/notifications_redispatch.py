from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import notifications_redispatch


class Command(BaseCommand):
    help = "Hand stuck messages and deliveries back to Celery (beat runs this every minute)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = notifications_redispatch()
        self.stdout.write(", ".join(f"{name}: {n}" for name, n in counts.items()))
