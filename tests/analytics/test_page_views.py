import pytest
from django.test import Client

from analytics.models import EventHourStats, PageViewHour
from analytics.pageviews import _client, _key, page_views_flush
from analytics.summaries import summaries_refresh
from events.models import Event, TicketTier


@pytest.mark.django_db
def test_event_page_views_and_unique_visitors_reach_the_summary(
    event: Event, tier: TicketTier
) -> None:
    page_views_flush()  # whatever earlier tests left in Redis
    first, second = Client(HTTP_USER_AGENT="Phone A"), Client(HTTP_USER_AGENT="Laptop B")
    for client in (first, first, second):
        assert client.get(event.get_absolute_url()).status_code == 200
    Client(HTTP_USER_AGENT="Googlebot/2.1").get(event.get_absolute_url())
    Client().get(f"/events/{event.pk}/no-such-page/")  # a 404 is not a view

    assert page_views_flush() == 1
    counted = PageViewHour.objects.get(event=event)
    assert (counted.views, counted.visitors) == (3, 2)
    # Nothing left to flush: the counter was moved, not copied.
    assert page_views_flush() == 0
    summaries_refresh()
    row = EventHourStats.objects.get(event=event, tier=None)
    assert (row.page_views, row.unique_visitors) == (3, 2)


@pytest.mark.django_db
def test_visitors_are_stored_only_as_salted_hashes(event: Event) -> None:
    page_views_flush()
    client = Client(HTTP_USER_AGENT="Phone A")
    client.get(event.get_absolute_url())
    redis = _client()
    stored = b"".join(
        redis.dump(key) or b"" for key in redis.scan_iter(match=_key("visitors", "*"))
    )
    assert stored
    assert b"Phone A" not in stored and b"127.0.0.1" not in stored
    page_views_flush()
