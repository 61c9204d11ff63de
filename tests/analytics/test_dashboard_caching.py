"""Dashboards rendered once per summary refresh, and searches ranked over a bounded set: the
figures a page shows are still those of the summary tables as of the time it prints."""

import hashlib
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from analytics import attendees, stats
from analytics.summaries import WATERMARK_CACHE_KEY, summaries_rebuild, summaries_refresh
from events.models import Event, TicketTier
from tests.factories import UserFactory
from ticketing.booking.services import order_pay, order_reserve


def _buy(event: Event, tier: TicketTier, quantity: int, name: str = "Ann Example") -> None:
    buyer = UserFactory.create(full_name=name)
    order = order_reserve(
        buyer=buyer, event_id=event.pk, items=[(tier.pk, quantity)], idempotency_key="k"
    )
    order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex)


@pytest.fixture
def organizer_client(organizer: User) -> Client:
    client = Client()
    client.force_login(organizer)
    return client


def _tickets_sold(client: Client, event: Event) -> str:
    html = client.get(f"/manage/events/{event.pk}/dashboard").content.decode()
    summary = html[html.index("Figures below as of") :]
    row = summary[summary.index('<th scope="row">') :]
    return row[: row.index("</tr>")]


# Each refresh must commit: its watermark is the time of its transaction, one for a whole test
# otherwise.
@pytest.mark.django_db(transaction=True)
def test_event_summary_changes_when_the_refresh_moves_the_watermark_and_not_before(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 2)
    summaries_rebuild()
    assert "<td>2</td>" in _tickets_sold(organizer_client, event)
    _buy(event, tier, 3, "Bo Other")
    # Not refreshed yet: the page shows the figures as of the last refresh, from its cache.
    assert "<td>2</td>" in _tickets_sold(organizer_client, event)
    summaries_rebuild()
    assert "<td>5</td>" in _tickets_sold(organizer_client, event)


@pytest.mark.django_db(transaction=True)
def test_organizer_summary_follows_the_refresh(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 2)
    summaries_rebuild()
    first = organizer_client.get("/manage/", {"period": "7d"})
    assert {k["label"]: k for k in first.context["kpis"]}["Tickets sold"]["value"] == 2
    _buy(event, tier, 1, "Bo Other")
    summaries_refresh()
    again = organizer_client.get("/manage/", {"period": "7d"})
    assert {k["label"]: k for k in again.context["kpis"]}["Tickets sold"]["value"] == 3
    assert "Tickets sold as of" in again.content.decode()


@pytest.mark.django_db(transaction=True)
def test_while_one_request_recomputes_the_others_serve_the_previous_figures() -> None:
    summaries_rebuild()
    assert stats.once_per_refresh("scope", lambda: "as of the first") == "as of the first"
    summaries_rebuild()  # a new watermark
    key = "analytics:stats:" + hashlib.sha256(b"'scope'").hexdigest()[:40]
    cache.set(key + ":computing", 1, 30)  # someone else is computing it
    assert stats.once_per_refresh("scope", lambda: "new") == "as of the first"
    cache.delete(key + ":computing")
    assert stats.once_per_refresh("scope", lambda: "new") == "new"
    assert stats.once_per_refresh("scope", lambda: "not again") == "new"


@pytest.mark.django_db
def test_the_refresh_forgets_the_cached_watermark() -> None:
    summaries_rebuild()
    first = stats.stats_as_of()
    assert cache.get(WATERMARK_CACHE_KEY) == first
    cache.set(WATERMARK_CACHE_KEY, "", 60)  # as if read before any refresh
    summaries_refresh()
    assert cache.get(WATERMARK_CACHE_KEY) is None
    assert stats.stats_as_of() is not None


@pytest.mark.django_db
def test_a_broad_search_ranks_a_bounded_set_and_says_more_than(
    organizer_client: Client,
    event: Event,
    tier: TicketTier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(attendees, "SEARCH_CANDIDATES_MAX", 3)
    for n in range(5):
        _buy(event, tier, 1, f"Person{n} Haddad")
    _buy(event, tier, 1, "Anna Zed")
    url = f"/manage/events/{event.pk}/attendees/"
    broad = organizer_client.get(url, {"q": "hadad"})
    assert broad.context["page"].paginator.count == 4  # the cap + 1: "more than 3"
    assert len(broad.context["rows"]) == 4
    assert all("Haddad" in r["name"] for r in broad.context["rows"])
    assert "More than 3 attendees match" in broad.content.decode()
    by_name = organizer_client.get(url, {"q": "hadad", "sort": "-name"})
    names = [r["name"] for r in by_name.context["rows"]]
    assert len(names) == 4
    assert names == sorted(names, reverse=True)
    narrow = organizer_client.get(url, {"q": "zed"})
    assert [r["name"] for r in narrow.context["rows"]] == ["Anna Zed"]
    assert "More than" not in narrow.content.decode()
    nothing: Any = organizer_client.get(url, {"q": "nobody-like-this"})
    assert nothing.context["page"].paginator.count == 0
    past_the_end = organizer_client.get(url, {"q": "hadad", "page": "9"})
    assert past_the_end.context["page"].number == 1
