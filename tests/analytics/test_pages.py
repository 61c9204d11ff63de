import csv
import io
import uuid
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import AuditEntry, User
from analytics.summaries import summaries_rebuild
from checkin.models import Admission
from checkin.services import checkin_list_default, ticket_scan
from core.refs import ref_display
from events.models import Event, TicketTier
from notifications.models import Delivery, Message
from notifications.services import message_fan_out
from tests.factories import MembershipFactory, UserFactory
from ticketing.aftersale.refunds import order_refund
from ticketing.booking.services import order_pay, order_reserve
from ticketing.models import Refund, Ticket


def _buy(event: Event, tier: TicketTier, quantity: int, name: str) -> list[Ticket]:
    buyer = UserFactory.create(full_name=name)
    order = order_reserve(
        buyer=buyer,
        event_id=event.pk,
        items=[(tier.pk, quantity)],
        idempotency_key=uuid.uuid4().hex,
    )
    return order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex).tickets


@pytest.fixture
def organizer_client(organizer: User) -> Client:
    client = Client()
    client.force_login(organizer)
    return client


@pytest.mark.django_db
def test_organizer_home_shows_period_figures_with_as_of_and_chart_fallbacks(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 3, "Ann Example")
    summaries_rebuild()
    for period in ("today", "7d", "30d"):
        response = organizer_client.get("/manage/", {"period": period})
        assert response.status_code == 200
        kpis = {k["label"]: k for k in response.context["kpis"]}
        assert kpis["Tickets sold"]["value"] == 3
    html = response.content.decode()
    assert "Figures as of" in html
    assert "Tickets sold and check-ins as a table" in html
    custom = organizer_client.get(
        "/manage/", {"period": "custom", "from": "2030-02-01", "to": "2030-01-01"}
    )
    assert "Choose a start and an end date" in custom.content.decode()


@pytest.mark.django_db
def test_organizer_home_is_404_for_someone_who_manages_nothing(
    client: Client, door_staff: User
) -> None:
    client.force_login(door_staff)
    assert client.get("/manage/").status_code == 404


@pytest.mark.django_db
def test_admin_sees_the_platform_but_an_organizer_cannot_ask_for_it(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    other = MembershipFactory.create()
    foreign = Event.objects.create(
        organization=other.organization,
        venue=event.venue,
        title="Foreign gala",
        slug="foreign-gala",
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        status="published",
    )
    foreign_tier = TicketTier.objects.create(
        event=foreign, name="GA", price=Decimal("10"), capacity=10
    )
    _buy(foreign, foreign_tier, 2, "Far Away")
    summaries_rebuild()
    own = organizer_client.get("/manage/", {"scope": "platform"})
    assert own.context["platform"] is False
    assert own.context["kpis"][0]["value"] == 0
    admin = Client()
    admin.force_login(UserFactory.create(is_staff=True))
    platform = admin.get("/manage/", {"scope": "platform"})
    assert platform.status_code == 200
    assert platform.context["kpis"][0]["value"] == 2
    assert platform.context["popular"]["velocity"][0]["title"] == "Foreign gala"


@pytest.mark.django_db
def test_live_counts_json_follow_sales_and_are_404_for_strangers(
    organizer_client: Client, event: Event, tier: TicketTier, settings
) -> None:
    url = f"/manage/events/{event.pk}/live.json"
    before = organizer_client.get(url).json()
    _buy(event, tier, 2, "Live Buyer")
    cache.delete(f"analytics:live:{event.pk}")
    after = organizer_client.get(url).json()
    assert (before["sold"], after["sold"]) == (0, 2)
    assert after["tiers"][0]["available"] == tier.capacity - 2
    order_reserve(
        buyer=UserFactory.create(), event_id=event.pk, items=[(tier.pk, 3)], idempotency_key="h"
    )
    cache.delete(f"analytics:live:{event.pk}")
    held = organizer_client.get(url).json()
    assert (held["sold"], held["held"], held["available"]) == (2, 3, tier.capacity - 5)
    assert held["sold"] == Ticket.objects.filter(event=event, status="valid").count()
    stranger = Client()
    stranger.force_login(MembershipFactory.create().user)
    assert stranger.get(url).status_code == 404
    page = organizer_client.get(f"/manage/events/{event.pk}/dashboard")
    assert page.status_code == 200
    assert 'http-equiv="refresh"' not in page.content.decode()
    assert 'data-live="sold"' in page.content.decode()


@pytest.mark.django_db
def test_attendee_page_finds_a_misspelled_name_sorts_and_pages(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 1, "Bartholomew Quigley")
    _buy(event, tier, 1, "Anna Zed")
    url = f"/manage/events/{event.pk}/attendees/"
    found = organizer_client.get(url, {"q": "bartolomew quigly"})
    assert [r["name"] for r in found.context["rows"]] == ["Bartholomew Quigley"]
    _buy(event, tier, 1, "Maximilian Schneider")
    # Two letters swapped, the commonest typo: 6 of 10 trigrams in common.
    swapped = organizer_client.get(url, {"q": "schnieder"})
    assert [r["name"] for r in swapped.context["rows"]] == ["Maximilian Schneider"]
    by_name = organizer_client.get(url, {"sort": "-name"})
    assert [r["name"] for r in by_name.context["rows"]] == [
        "Maximilian Schneider",
        "Bartholomew Quigley",
        "Anna Zed",
    ]
    assert organizer_client.get(url, {"tier": "not-a-uuid"}).status_code == 200


@pytest.mark.django_db
def test_a_search_pages_through_its_matches_best_first_with_links_and_labels(
    organizer_client: Client, event: Event, tier: TicketTier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    typo = _buy(event, tier, 1, "Dora Quigly")[0]  # bought first, but a weaker match
    exact = [_buy(event, tier, 1, f"{first} Quigley")[0] for first in ("Ann", "Bo", "Cy")]
    _buy(event, tier, 1, "Anna Zed")
    url = f"/manage/events/{event.pk}/attendees/"
    pages = [organizer_client.get(url, {"q": "quigley", "page": n}) for n in (1, 2)]
    assert [p.context["page"].paginator.count for p in pages] == [4, 4]
    names = [[r["name"] for r in p.context["rows"]] for p in pages]
    # Exact names first, in the order they were bought; the typo last.
    assert names == [["Ann Quigley", "Bo Quigley"], ["Cy Quigley", "Dora Quigly"]]
    html = pages[1].content.decode()
    for ticket in Ticket.objects.filter(pk__in=[exact[2].pk, typo.pk]):  # refs the database set
        assert f'href="/manage/orders/{ticket.order_id}/"' in html
        ref = ref_display(ticket.ref)
        assert f'aria-label="Select {ticket.attendee_name} ({ref})"' in html


@pytest.mark.django_db
def test_bulk_refund_and_manual_check_in_go_through_the_services(
    organizer_client: Client, organizer: User, event: Event, tier: TicketTier
) -> None:
    first = _buy(event, tier, 2, "Refund Me")
    keep = _buy(event, tier, 1, "Keep Me")[0]
    url = f"/manage/events/{event.pk}/attendees/bulk"
    response = organizer_client.post(
        url,
        {
            "action": "refund",
            "scope": "selected",
            "ticket": [t.pk for t in first],
            "batch_key": "b1",
        },
    )
    assert response.status_code == 302
    assert Ticket.objects.filter(pk__in=[t.pk for t in first], status="void").count() == 2
    assert Refund.objects.filter(order=first[0].order, reason="organizer").count() == 1
    # The same form sent twice refunds nothing more.
    organizer_client.post(
        url,
        {
            "action": "refund",
            "scope": "selected",
            "ticket": [t.pk for t in first],
            "batch_key": "b1",
        },
    )
    assert Refund.objects.count() == 1

    organizer_client.post(url, {"action": "check_in", "scope": "filter", "q": "keep me"})
    assert Admission.objects.filter(ticket=keep).exists()
    assert AuditEntry.objects.filter(
        action="ticket.manual_check_in", target_id=str(keep.pk)
    ).exists()
    stranger = Client()
    stranger.force_login(MembershipFactory.create().user)
    assert stranger.post(url, {"action": "refund", "ticket": [keep.pk]}).status_code == 404
    assert Ticket.objects.get(pk=keep.pk).status == "valid"


@pytest.mark.django_db
def test_exports_follow_the_filter_in_csv_and_xlsx(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 2, "Export Person")
    _buy(event, tier, 1, "Other Person")
    url = f"/manage/events/{event.pk}/attendees/"
    response: Any = organizer_client.get(url, {"q": "export", "export": "csv"})
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[1] for r in rows[1:]] == ["Export Person", "Export Person"]
    xlsx: Any = organizer_client.get(url, {"export": "xlsx"})
    body = b"".join(xlsx.streaming_content)
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "Other Person" in sheet and "Export Person" in sheet


@pytest.mark.django_db
def test_order_page_says_why_an_email_was_not_sent(
    organizer_client: Client, event: Event, tier: TicketTier
) -> None:
    order = _buy(event, tier, 1, "Skipped Mail")[0].order
    message = Message.objects.get(data__order_id=str(order.pk))
    message_fan_out(message_id=message.pk)
    mail = Delivery.objects.get(channel="email", message=message)
    Delivery.objects.filter(pk=mail.pk).update(
        status=Delivery.Status.SKIPPED, sent_at=None, last_error="The order was cancelled."
    )
    page = organizer_client.get(f"/manage/orders/{order.pk}/").content.decode()
    assert "not sent: The order was cancelled." in page


@pytest.mark.django_db
def test_order_page_tells_the_whole_story_and_is_404_for_strangers(
    organizer_client: Client, organizer: User, event: Event, tier: TicketTier
) -> None:
    tickets = _buy(event, tier, 2, "Story Buyer")
    order = tickets[0].order
    ticket_scan(
        payload=tickets[0].qr_payload, checkin_list=checkin_list_default(event), scanned_by=None
    )
    order_refund(
        actor=organizer,
        order_id=order.pk,
        ticket_ids=[tickets[1].pk],
        idempotency_key="story",
        as_organizer=True,
        reason=Refund.Reason.ORGANIZER,
    )
    response = organizer_client.get(f"/manage/orders/{order.pk}/")
    assert response.status_code == 200
    kinds = [m.kind for m in response.context["timeline"]]
    assert kinds[0] == "order"
    assert {"payment", "refund", "scan"} <= set(kinds)
    times = [m.at for m in response.context["timeline"]]
    assert times == sorted(times)
    stranger = Client()
    stranger.force_login(MembershipFactory.create().user)
    assert stranger.get(f"/manage/orders/{order.pk}/").status_code == 404
