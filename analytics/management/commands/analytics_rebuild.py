from typing import Any

from django.core.management.base import BaseCommand

from analytics.pageviews import page_views_flush
from analytics.summaries import summaries_rebuild


class Command(BaseCommand):
    help = "Rebuild the analytics summary tables from every raw row (same rows as the refresh)."

    def handle(self, *args: Any, **options: Any) -> None:
        page_views_flush()
        outcome = summaries_rebuild()
        self.stdout.write(f"{outcome.buckets} buckets rebuilt in {outcome.seconds:.2f}s")
