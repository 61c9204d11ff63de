from typing import Any

from django.core.management.base import BaseCommand

from waitlist.tasks import expire_waitlist_offers


class Command(BaseCommand):
    help = "Settle lapsed waitlist offers and promote set-aside seats (what Celery beat runs)."

    def handle(self, *args: Any, **options: Any) -> None:
        settled = expire_waitlist_offers()
        self.stdout.write(f"{settled} offers settled")
