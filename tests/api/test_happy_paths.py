"""The JSON API end to end: sign up, find an event, book, pay, get in."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, AuditEntry, User
from checkin.models import Admission, Scan
from checkin.signing import payload_verify
from events.models import Event, TicketTier
from tests.api.conftest import Api, login
from tests.factories import (
    CategoryFactory,
    EventFactory,
    TicketTierFactory,
    UserFactory,
    VenueFactory,
    order_paid,
    order_reserved,
)
from ticketing.models import Order, SandboxCharge, Ticket


def test_sign_up_returns_201_and_creates_the_user(anonymous: Api) -> None:
    response = anonymous.post(
        "/auth/signup",
        {"email": "New@Example.com", "password": "a-long-passphrase-42", "full_name": "Nia"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new@example.com"
    assert User.objects.get(pk=body["user_id"]).full_name == "Nia"


def test_sign_up_with_a_taken_email_is_409(anonymous: Api, attendee: User) -> None:
    response = anonymous.post(
        "/auth/signup", {"email": attendee.email, "password": "a-long-passphrase-42"}
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EMAIL_TAKEN"
    assert User.objects.count() == 1


def test_token_is_issued_and_authenticates(client: Client, attendee: User) -> None:
    api = login(client, attendee)

    assert api.token is not None and api.token.startswith("bo_")
    assert ApiToken.objects.filter(user=attendee).count() == 1
    assert api.get(f"/orders/{uuid.uuid4()}").status_code == 404  # authenticated, not 401


def test_wrong_password_gets_no_token(anonymous: Api, attendee: User) -> None:
    response = anonymous.post("/auth/token", {"email": attendee.email, "password": "nope"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert ApiToken.objects.count() == 0


def test_event_list_filters_by_category_city_dates_and_keyword(anonymous: Api) -> None:
    soon = timezone.now() + timedelta(days=3)
    later = timezone.now() + timedelta(days=40)
    jazz = EventFactory.create(
        title="Jazz by the river",
        category=CategoryFactory.create(name="Jazz", slug="jazz"),
        venue=VenueFactory.create(city="Hamburg"),
        starts_at=soon,
    )
    rock = EventFactory.create(
        title="Rock night", venue=VenueFactory.create(city="Berlin"), starts_at=later
    )
    EventFactory.create(title="Secret draft", status=Event.Status.DRAFT)
    EventFactory.create(
        title="Over already",
        starts_at=timezone.now() - timedelta(days=2),
        ends_at=timezone.now() - timedelta(days=1),
    )
    TicketTierFactory.create(event=jazz)

    def titles(**params: str) -> list[str]:
        response = anonymous.get("/events", params)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == len(body["items"])
        return [item["title"] for item in body["items"]]

    assert titles() == [jazz.title, rock.title]
    assert titles(category="jazz") == [jazz.title]
    assert titles(city="berlin") == [rock.title]
    assert titles(start_date=(later.date() - timedelta(days=1)).isoformat()) == [rock.title]
    assert titles(end_date=(soon.date() + timedelta(days=1)).isoformat()) == [jazz.title]
    assert titles(q="river") == [jazz.title]
    assert titles(q="river", city="Berlin") == []
    assert titles(start_date=date(2100, 1, 1).isoformat()) == []


def test_event_list_pages(anonymous: Api) -> None:
    EventFactory.create_batch(3)

    body = anonymous.get("/events", {"limit": 2, "offset": 2}).json()

    assert body["count"] == 3
    assert len(body["items"]) == 1


def test_event_detail_and_ticket_availability(anonymous: Api, attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=10, price=Decimal("12.50"))
    order_reserved(buyer=attendee, tier=tier, quantity=3)

    detail = anonymous.get(f"/events/{tier.event_id}")
    tickets = anonymous.get(f"/events/{tier.event_id}/tickets")

    assert detail.status_code == tickets.status_code == 200
    assert detail.json()["id"] == str(tier.event_id)
    assert detail.json()["title"] == tier.event.title
    assert tickets.json() == [
        {
            "id": str(tier.pk),
            "name": tier.name,
            "price": "12.50",
            "currency": "EUR",
            "capacity": 10,
            "available": 7,
            "max_per_order": 10,
        }
    ]
    assert detail.json()["tiers"] == tickets.json()


def test_organizer_creates_an_event_with_tiers_and_publishes_it(
    as_organizer: Api, organizer: User
) -> None:
    CategoryFactory.create(name="Jazz", slug="jazz")
    created = as_organizer.post(
        "/events",
        {
            "title": "Late Jazz",
            "description": "Smoky.",
            "category": "jazz",
            "venue_name": "Cellar",
            "city": "Cologne",
            "starts_at": "2031-05-01T20:00:00+02:00",
            "ends_at": "2031-05-01T23:00:00+02:00",
            "time_zone": "Europe/Berlin",
            "tiers": [
                {"name": "Standing", "price": "15.00", "capacity": 80},
                {"name": "Table", "price": "45.00", "capacity": 12, "max_per_order": 4},
            ],
        },
    )

    assert created.status_code == 201
    body = created.json()
    event = Event.objects.get(pk=body["id"])
    assert event.organization == organizer.organizations.get()
    assert (body["status"], event.status) == ("draft", Event.Status.DRAFT)
    assert [t["name"] for t in body["tiers"]] == ["Standing", "Table"]
    assert TicketTier.objects.filter(event=event).count() == 2

    published = as_organizer.post(f"/events/{event.pk}/publish")

    assert published.status_code == 200
    assert published.json()["status"] == "published"
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED
    assert set(
        AuditEntry.objects.filter(target_id=str(event.pk)).values_list("action", flat=True)
    ) == {"event.create", "event.publish"}


def test_publishing_twice_is_a_409(as_organizer: Api, event: Event) -> None:
    response = as_organizer.post(f"/events/{event.pk}/publish")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EVENT_NOT_EDITABLE"


def test_register_holds_tickets_and_returns_the_order(
    as_attendee: Api, attendee: User, tier: TicketTier
) -> None:
    response = as_attendee.post(
        f"/events/{tier.event_id}/register",
        {"tier_id": str(tier.pk), "quantity": 2, "idempotency_key": "reg-1"},
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"order_id", "status", "expires_at", "total"}
    assert body["status"] == "pending"
    assert Decimal(body["total"]) == tier.price * 2
    order = Order.objects.get(pk=body["order_id"], buyer=attendee)
    assert order.expires_at.isoformat().startswith(body["expires_at"][:19])
    tier.refresh_from_db()
    assert tier.sold_count == 2

    again = as_attendee.post(
        f"/events/{tier.event_id}/register",
        {"tier_id": str(tier.pk), "quantity": 2, "idempotency_key": "reg-1"},
    )
    assert again.status_code == 201
    assert again.json()["order_id"] == body["order_id"]
    tier.refresh_from_db()
    assert tier.sold_count == 2


def test_register_with_items_over_several_tiers(as_attendee: Api, event: Event) -> None:
    one, two = (
        TicketTierFactory.create(event=event),
        TicketTierFactory.create(event=event, name="Balcony"),
    )

    response = as_attendee.post(
        f"/events/{event.pk}/register",
        {
            "items": [
                {"tier_id": str(one.pk), "quantity": 1},
                {"tier_id": str(two.pk), "quantity": 3},
            ],
            "idempotency_key": "multi",
        },
    )

    assert response.status_code == 201
    order = Order.objects.get(pk=response.json()["order_id"])
    assert sorted(order.lines.values_list("quantity", flat=True)) == [1, 3]


def test_register_when_sold_out_is_409_sold_out(as_attendee: Api, attendee: User) -> None:
    tier = TicketTierFactory.create(capacity=1)
    order_reserved(buyer=UserFactory.create(), tier=tier)

    response = as_attendee.post(
        f"/events/{tier.event_id}/register",
        {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": "late"},
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "SOLD_OUT"
    assert error["message"]
    assert Order.objects.filter(buyer=attendee).count() == 0


def test_pay_returns_paid_status_ticket_ids_and_qr_codes(
    as_attendee: Api, attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    response = as_attendee.post(f"/orders/{order.pk}/pay", {"idempotency_key": "pay-1"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "paid"
    tickets = {str(t.pk): t for t in Ticket.objects.filter(order=order)}
    assert sorted(body["ticket_ids"]) == sorted(tickets)
    assert len(body["qr_codes"]) == 2
    for ticket_id, qr in zip(body["ticket_ids"], body["qr_codes"], strict=True):
        assert str(payload_verify(qr).ticket_id) == ticket_id
        assert tickets[ticket_id].qr_payload == qr

    again = as_attendee.post(f"/orders/{order.pk}/pay", {"idempotency_key": "pay-1"})
    assert again.json()["ticket_ids"] == body["ticket_ids"]
    assert SandboxCharge.objects.count() == 1


def test_pay_with_a_declined_card_is_402_and_releases_the_hold(
    as_attendee: Api, attendee: User, tier: TicketTier
) -> None:
    order = order_reserved(buyer=attendee, tier=tier, quantity=2)

    response = as_attendee.post(
        f"/orders/{order.pk}/pay",
        {"idempotency_key": "pay-1", "card_number": "4000 0000 0000 0002"},
    )

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "PAYMENT_DECLINED"
    tier.refresh_from_db()
    assert tier.sold_count == 0
    assert Ticket.objects.count() == 0


def test_get_order_shows_only_the_buyers_own_order(
    as_attendee: Api, attendee: User, tier: TicketTier
) -> None:
    mine = order_reserved(buyer=attendee, tier=tier)
    theirs = order_reserved(buyer=UserFactory.create(), tier=tier)

    assert as_attendee.get(f"/orders/{mine.pk}").json()["order_id"] == str(mine.pk)
    response = as_attendee.get(f"/orders/{theirs.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_scan_admits_once_then_reports_already_used(
    as_door: Api, attendee: User, tier: TicketTier
) -> None:
    ticket = order_paid(buyer=attendee, tier=tier).tickets[0]

    first = as_door.post("/checkin/scan", {"payload": ticket.qr_payload, "device_id": "d1"})
    second = as_door.post("/checkin/scan", {"payload": ticket.qr_payload, "device_id": "d1"})

    assert first.status_code == second.status_code == 200
    assert {k: first.json()[k] for k in ("valid", "attendee_name", "tier", "already_used")} == {
        "valid": True,
        "attendee_name": ticket.attendee_name,
        "tier": tier.name,
        "already_used": False,
    }
    assert second.json()["valid"] is False
    assert second.json()["already_used"] is True
    assert second.json()["first_used_at"] is not None
    assert Admission.objects.filter(ticket=ticket).count() == 1
    assert Scan.objects.filter(ticket=ticket).count() == 2


def test_openapi_schema_lists_the_endpoints(anonymous: Api) -> None:
    response = anonymous.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/token",
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/events/{event_id}/tickets",
        "/api/v1/events/{event_id}/publish",
        "/api/v1/events/{event_id}/register",
        "/api/v1/orders/{order_id}/pay",
        "/api/v1/checkin/scan",
    ]:
        assert path in paths, path


def test_api_docs_load_their_assets_from_our_own_static_files(anonymous: Api) -> None:
    response = anonymous.client.get("/api/v1/docs")

    assert response.status_code == 200
    assert b"/static/ninja/swagger-ui-bundle.js" in response.content
    assert b"cdn." not in response.content  # this machine, and many venues, have no internet
