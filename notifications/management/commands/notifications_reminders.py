from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import reminders_record


class Command(BaseCommand):
    help = "Record the event reminders that are due (beat runs this every minute)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"reminders recorded: {reminders_record()}")
