from typing import Any

from django.core.management.base import BaseCommand

from analytics.pageviews import page_views_flush
from analytics.summaries import summaries_refresh


class Command(BaseCommand):
    help = "Flush page views and refresh the summary tables incrementally (what beat runs)."

    def handle(self, *args: Any, **options: Any) -> None:
        flushed = page_views_flush()
        outcome = summaries_refresh()
        self.stdout.write(
            f"page view hours flushed: {flushed}; buckets refreshed: {outcome.buckets} "
            f"in {outcome.seconds:.2f}s" + ("" if outcome.ran else " (another refresh was running)")
        )
