from typing import Any

from celery import shared_task

from analytics.pageviews import page_views_flush
from analytics.summaries import summaries_refresh


@shared_task(ignore_result=True)
def refresh_summaries() -> dict[str, Any]:
    """Beat, every minute: flush page views, then recompute the buckets that changed."""
    flushed = page_views_flush()
    outcome = summaries_refresh()
    return {"page_view_hours": flushed, "buckets": outcome.buckets, "ran": outcome.ran}
