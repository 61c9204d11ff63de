from typing import Any

from django.core.management.base import BaseCommand

from ticketing.booking.core import orders_release_expired


class Command(BaseCommand):
    help = "Release reserved tickets whose hold expired (Celery beat runs this every 30 s)."

    def handle(self, *args: Any, **options: Any) -> None:
        released = orders_release_expired()
        self.stdout.write(f"released {released} expired hold(s)")
