import csv
import io
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts.models import Membership, User
from analytics.summaries import summaries_rebuild
from checkin.services import checkin_list_default, ticket_scan
from events.models import Event, TicketTier
from tests.api.conftest import Api, login
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, UserFactory
from ticketing.booking.services import order_pay, order_reserve


def _patch(api: Api, path: str, body: dict) -> Any:
    return api.client.patch(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=api.headers()
    )


def _delete(api: Api, path: str) -> Any:
    return api.client.delete(f"/api/v1{path}", headers=api.headers())


def _buy(event: Event, tier: TicketTier, quantity: int, name: str = "") -> list:
    buyer = UserFactory.create(full_name=name) if name else UserFactory.create()
    order = order_reserve(
        buyer=buyer,
        event_id=event.pk,
        items=[(tier.pk, quantity)],
        idempotency_key=uuid.uuid4().hex,
    )
    return order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex).tickets


@pytest.fixture
def draft(organizer: User) -> Event:
    event = EventFactory.create(organization=organizer.organizations.get(), status="draft")
    TicketTierFactory.create(event=event, capacity=10)
    return event


@pytest.fixture
def rival(db) -> Api:
    return login(Client(), MembershipFactory.create(role=Membership.Role.OWNER).user)


@pytest.mark.django_db
def test_second_organizer_gets_json_404_on_every_endpoint_for_the_first_ones_event(
    as_organizer: Api, rival: Api, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 1)
    reads = ["", "/orders", "/attendees", "/attendees.csv", "/stats"]
    for suffix in reads:
        assert as_organizer.get(f"/events/{event.pk}{suffix}").status_code == 200, suffix
    draft = EventFactory.create(organization=event.organization, status="draft")
    for target in (event, draft):
        for suffix in reads:
            if target is event and suffix == "":
                continue  # a published event is public
            response = rival.get(f"/events/{target.pk}{suffix}")
            assert response.status_code == 404, suffix
            assert response.json()["error"]["code"] == "NOT_FOUND"
        response = _patch(rival, f"/events/{target.pk}", {"title": "Mine now"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
        assert _delete(rival, f"/events/{target.pk}").status_code == 404
    listed = rival.get("/organizer/events").json()
    assert all(row["id"] not in (str(event.pk), str(draft.pk)) for row in listed)
    rival_stats = rival.get("/organizer/stats").json()
    assert rival_stats["current"]["tickets"] == 0
    event.refresh_from_db()
    assert event.title != "Mine now"
    assert Event.objects.filter(pk=draft.pk).exists()


@pytest.mark.django_db
def test_draft_is_readable_by_its_organizer_only_and_never_listed_publicly(
    as_organizer: Api, anonymous: Api, as_attendee: Api, draft: Event
) -> None:
    assert as_organizer.get(f"/events/{draft.pk}").json()["status"] == "draft"
    assert anonymous.get(f"/events/{draft.pk}").status_code == 404
    assert as_attendee.get(f"/events/{draft.pk}").status_code == 404
    for path in ("/events", f"/search?query={draft.title}"):
        ids = [e["id"] for e in anonymous.get(path).json()["items"]]
        assert str(draft.pk) not in ids
    drafts = as_organizer.get("/organizer/events", {"status": "draft"}).json()
    assert [row["id"] for row in drafts] == [str(draft.pk)]
    assert as_organizer.get("/organizer/events", {"status": "published"}).json() == []
    assert as_organizer.get("/organizer/events", {"status": "nonsense"}).status_code == 422


@pytest.mark.django_db
def test_patch_changes_details_times_venue_and_tiers(as_organizer: Api, draft: Event) -> None:
    tier = draft.tiers.get()
    response = _patch(
        as_organizer,
        f"/events/{draft.pk}",
        {
            "title": "Late show",
            "venue_name": "Blue Room",
            "city": "Hamburg",
            "starts_at": "2031-05-01T20:00:00Z",
            "ends_at": "2031-05-01T23:00:00Z",
            "tiers": [
                {"id": str(tier.pk), "name": "Standing", "price": "20.00", "capacity": 50},
                {"name": "Balcony", "price": "35.00", "capacity": 10},
            ],
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["venue"], body["city"]) == ("Late show", "Blue Room", "Hamburg")
    assert body["starts_at"].startswith("2031-05-01T20:00")
    assert sorted((t["name"], t["capacity"]) for t in body["tiers"]) == [
        ("Balcony", 10),
        ("Standing", 50),
    ]


@pytest.mark.django_db
def test_patch_capacity_below_sold_is_422_with_a_code(
    as_organizer: Api, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 3)
    response = _patch(
        as_organizer,
        f"/events/{event.pk}",
        {"tiers": [{"id": str(tier.pk), "name": tier.name, "price": "25.00", "capacity": 2}]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "CAPACITY_BELOW_SOLD"
    tier.refresh_from_db()
    assert tier.capacity == 100
    bad = _patch(as_organizer, f"/events/{event.pk}", {"starts_at": "not a date"})
    assert bad.status_code == 422 and "error" in bad.json()


@pytest.mark.django_db
def test_delete_removes_a_draft_but_an_event_with_orders_is_409(
    as_organizer: Api, draft: Event, event: Event, tier: TicketTier
) -> None:
    assert _delete(as_organizer, f"/events/{draft.pk}").status_code == 204
    assert not Event.objects.filter(pk=draft.pk).exists()
    _buy(event, tier, 1)
    response = _delete(as_organizer, f"/events/{event.pk}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EVENT_HAS_ORDERS"


@pytest.mark.django_db
def test_attendees_search_forgives_typos_filters_and_pages_by_cursor(
    as_organizer: Api, event: Event, tier: TicketTier
) -> None:
    vip = TicketTierFactory.create(event=event, name="VIP", price=Decimal("80.00"))
    kept = _buy(event, tier, 1, name="Margarethe Vandersloot")
    for number in range(4):
        _buy(event, tier, 1, name=f"Guest Number{number}")
    vip_ticket = _buy(event, vip, 1, name="Vera Important")[0]
    ticket_scan(
        payload=vip_ticket.qr_payload, checkin_list=checkin_list_default(event), scanned_by=None
    )
    path = f"/events/{event.pk}/attendees"

    found = as_organizer.get(path, {"q": "vandersloth"}).json()["items"]
    assert [a["ticket_id"] for a in found] == [str(kept[0].pk)]
    by_ref = as_organizer.get(path, {"q": found[0]["order_ref"].lower()}).json()["items"]
    assert [a["name"] for a in by_ref] == ["Margarethe Vandersloot"]
    assert [a["name"] for a in as_organizer.get(path, {"tier": str(vip.pk)}).json()["items"]] == [
        "Vera Important"
    ]
    checked = as_organizer.get(path, {"checked_in": "true"}).json()["items"]
    assert [a["name"] for a in checked] == ["Vera Important"]
    assert checked[0]["checked_in_at"] is not None

    seen, cursor = [], ""
    while True:
        page = as_organizer.get(path, {"limit": 2, "cursor": cursor}).json()
        seen += [a["ticket_id"] for a in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 6
    bad = as_organizer.get(path, {"cursor": "%%%"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_CURSOR"


@pytest.mark.django_db
def test_attendees_csv_streams_the_filtered_list(
    as_organizer: Api, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 2, name="=cmd|calc")
    _buy(event, tier, 1, name="Plain Person")
    response = as_organizer.get(f"/events/{event.pk}/attendees.csv", {"q": "plain"})
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Ticket", "Name", "Email"]
    assert [r[1] for r in rows[1:]] == ["Plain Person"]
    everything = as_organizer.get(f"/events/{event.pk}/attendees.csv")
    text = b"".join(everything.streaming_content).decode("utf-8-sig")
    assert "'=cmd|calc" in text  # formulas are neutralised


@pytest.mark.django_db
def test_orders_list_searches_and_filters(
    as_organizer: Api, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 2, name="Orla Buyer")
    held = order_reserve(
        buyer=UserFactory.create(), event_id=event.pk, items=[(tier.pk, 1)], idempotency_key="h"
    )
    path = f"/events/{event.pk}/orders"
    assert as_organizer.get(path).json()["count"] == 2
    paid = as_organizer.get(path, {"status": "paid"}).json()
    assert paid["count"] == 1 and paid["items"][0]["lines"][0]["quantity"] == 2
    assert as_organizer.get(path, {"q": "orla"}).json()["items"][0]["buyer_name"] == "Orla Buyer"
    pending = as_organizer.get(path, {"q": held.code}).json()["items"]
    assert [o["id"] for o in pending] == [str(held.pk)]
    assert pending[0]["reference"] == held.code
    # As people type it off a print-out or a phone, and the id the API itself returns.
    typed = f"{held.ref[:4].lower()}-{held.ref[4:].lower()}"
    for q in (held.ref, typed, held.ref[:5], str(held.pk)):
        found = as_organizer.get(path, {"q": q}).json()["items"]
        assert str(held.pk) in [o["id"] for o in found], q
    assert as_organizer.get(path, {"q": "ZZZZ ZZZZ"}).json()["count"] == 0


@pytest.mark.django_db
def test_attendees_are_found_by_ticket_or_order_reference_as_typed(
    as_organizer: Api, event: Event, tier: TicketTier
) -> None:
    first, second = _buy(event, tier, 2)
    [other] = _buy(event, tier, 1)
    path = f"/events/{event.pk}/attendees"
    by_ticket = as_organizer.get(path, {"q": first.code.replace(" ", "-").lower()}).json()
    assert [row["ticket_id"] for row in by_ticket["items"]] == [str(first.pk)]
    assert by_ticket["items"][0]["ticket_ref"] == first.code
    assert by_ticket["items"][0]["order_ref"] == first.order.code
    by_order = as_organizer.get(path, {"q": first.order.code}).json()["items"]
    assert {row["ticket_id"] for row in by_order} == {str(first.pk), str(second.pk)}
    assert str(other.pk) not in {row["ticket_id"] for row in by_order}


@pytest.mark.django_db
def test_stats_come_from_the_summary_tables_with_as_of(
    as_organizer: Api, event: Event, tier: TicketTier
) -> None:
    _buy(event, tier, 3)
    before = as_organizer.get(f"/events/{event.pk}/stats").json()
    assert before["as_of"] is None and before["totals"]["tickets"] == 0
    summaries_rebuild()
    stats = as_organizer.get(f"/events/{event.pk}/stats").json()
    assert stats["as_of"] is not None
    assert stats["totals"]["tickets"] == 3
    assert stats["totals"]["money"] == [
        {"currency": "EUR", "gross": "75.00", "refunds": "0.00", "fees": "0.00", "net": "75.00"}
    ]
    assert stats["tiers"][0]["tickets"] == 3
    overall = as_organizer.get("/organizer/stats").json()
    assert overall["current"]["tickets"] == 3 and overall["as_of"] is not None
    assert overall["top_events"][0]["event_id"] == str(event.pk)
    wrong = as_organizer.get("/organizer/stats", {"from": "2030-01-02", "to": "2030-01-01"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "INVALID_PERIOD"


def test_organizer_paths_are_in_the_openapi_schema(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, methods in {
        "/api/v1/organizer/events": {"get"},
        "/api/v1/events/{event_id}": {"get", "patch", "delete"},
        "/api/v1/events/{event_id}/orders": {"get"},
        "/api/v1/events/{event_id}/attendees": {"get"},
        "/api/v1/events/{event_id}/attendees.csv": {"get"},
        "/api/v1/events/{event_id}/stats": {"get"},
        "/api/v1/organizer/stats": {"get"},
    }.items():
        assert methods <= set(paths[path]), path


@pytest.mark.django_db
def test_attendee_payload_carries_answers_and_paying_without_a_required_one_is_a_json_error(
    as_organizer: Api, as_attendee: Api, attendee: User, event: Event, tier: TicketTier
) -> None:
    from events.models import AttendeeQuestion

    meal = AttendeeQuestion.objects.create(
        event=event, label="Meal", kind="choice", options=["Vegan", "Any"], required=True
    )
    order = order_reserve(
        buyer=attendee, event_id=event.pk, items=[(tier.pk, 1)], idempotency_key="q1"
    )
    pay = f"/api/v1/orders/{order.pk}/pay"

    def post(body: dict) -> Any:
        return as_attendee.client.post(
            pay, json.dumps(body), content_type="application/json", headers=as_attendee.headers()
        )

    missing = post({"idempotency_key": "p1"})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "ANSWER_REQUIRED"
    wrong = post({"idempotency_key": "p2", "attendees": [{"answers": {str(meal.pk): "Fish"}}]})
    assert wrong.json()["error"]["code"] == "ANSWER_INVALID"
    paid = post(
        {
            "idempotency_key": "p3",
            "attendees": [{"name": "Ada", "answers": {str(meal.pk): "Vegan"}}],
        }
    )
    assert paid.status_code == 200, paid.content
    rows = as_organizer.get(f"/events/{event.pk}/attendees").json()["items"]
    assert rows[0]["name"] == "Ada"
    assert rows[0]["answers"] == [
        {"question_id": str(meal.pk), "question": "Meal", "answer": "Vegan"}
    ]
    exported = as_organizer.get(f"/events/{event.pk}/attendees.csv")
    table = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert table[0][-1] == "Meal" and table[1][-1] == "Vegan"
