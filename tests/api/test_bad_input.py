"""Bad input never becomes a 500: every refusal is a 4xx with a stable error code.

Each case also checks that nothing was written.
"""

import base64
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.models import ApiToken, User
from checkin.models import Admission, Scan
from checkin.services import checkin_list_default
from events.models import Event, TicketTier
from events.search import MAX_QUERY_CHARS
from tests.api.conftest import Api
from tests.factories import TicketTierFactory, order_paid, order_reserved
from ticketing.models import Order, Payment, SandboxCharge


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def nothing_booked(tier: TicketTier) -> bool:
    tier.refresh_from_db()
    return tier.sold_count == 0 and not Order.objects.exists()


# --- Booking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ['{"tier_id": ', "{bad json}", "\x00\x01", '{"quantity": 1,}', "{'single': 'quotes'}"],
    ids=["truncated", "bare-words", "binary", "trailing-comma", "single-quotes"],
)
def test_malformed_json_is_400_malformed_json(as_attendee: Api, tier: TicketTier, raw: str) -> None:
    response = as_attendee.post(f"/events/{tier.event_id}/register", raw=raw)

    assert_error(response, 400, "MALFORMED_JSON")
    assert nothing_booked(tier)


def valid_registration(tier: TicketTier) -> dict[str, Any]:
    return {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": "key-1"}


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": 0},
        {"quantity": -1},
        {"quantity": -(10**9)},
        {"quantity": 101},
        {"quantity": 10**40},
        {"quantity": 1.5},
        {"quantity": "two"},
        {"quantity": None},
        {"quantity": [1]},
        {"tier_id": "not-a-uuid"},
        {"tier_id": 12345},
        {"tier_id": None},
        {"idempotency_key": ""},
        {"idempotency_key": "k" * 101},
        {"idempotency_key": {"nested": True}},
        {"items": []},
        {"items": "everything"},
        {"items": [{"tier_id": "nope", "quantity": 1}]},
        {"items": [{"quantity": 1}] * 21},
    ],
    ids=lambda change: "-".join(f"{k}={str(v)[:12]}" for k, v in change.items()),
)
def test_invalid_registration_fields_are_422_validation_error(
    as_attendee: Api, tier: TicketTier, change: dict[str, Any]
) -> None:
    body = valid_registration(tier) | change

    response = as_attendee.post(f"/events/{tier.event_id}/register", body)

    assert_error(response, 422, "VALIDATION_ERROR")
    assert nothing_booked(tier)


@pytest.mark.parametrize(
    "body",
    [{}, {"idempotency_key": "k"}, {"tier_id": None, "quantity": 1, "idempotency_key": "k"}, []],
    ids=["empty", "no-tier", "null-tier", "array"],
)
def test_missing_registration_fields_are_422_validation_error(
    as_attendee: Api, tier: TicketTier, body: Any
) -> None:
    response = as_attendee.post(f"/events/{tier.event_id}/register", body)

    assert_error(response, 422, "VALIDATION_ERROR")
    assert nothing_booked(tier)


def test_quantity_above_the_tiers_limit_is_422_quantity_limit(
    as_attendee: Api, tier: TicketTier
) -> None:
    body = valid_registration(tier) | {"quantity": tier.max_per_order + 1}

    response = as_attendee.post(f"/events/{tier.event_id}/register", body)

    assert_error(response, 422, "QUANTITY_LIMIT")
    assert nothing_booked(tier)


def test_unknown_tier_is_422_unknown_tier(as_attendee: Api, tier: TicketTier) -> None:
    other_events_tier = TicketTierFactory.create()
    for tier_id in [uuid.uuid4(), other_events_tier.pk]:
        body = valid_registration(tier) | {"tier_id": str(tier_id)}

        response = as_attendee.post(f"/events/{tier.event_id}/register", body)

        assert_error(response, 422, "UNKNOWN_TIER")
    assert nothing_booked(tier)
    assert nothing_booked(other_events_tier)


def test_unknown_event_is_404_not_found(as_attendee: Api, tier: TicketTier) -> None:
    response = as_attendee.post(f"/events/{uuid.uuid4()}/register", valid_registration(tier))

    assert_error(response, 404, "NOT_FOUND")
    assert nothing_booked(tier)


def test_draft_event_is_404_to_the_api(as_attendee: Api) -> None:
    tier = TicketTierFactory.create(event__status=Event.Status.DRAFT)

    assert_error(as_attendee.get(f"/events/{tier.event_id}"), 404, "NOT_FOUND")
    response = as_attendee.post(f"/events/{tier.event_id}/register", valid_registration(tier))
    assert_error(response, 404, "NOT_FOUND")
    assert nothing_booked(tier)


def test_cancelled_event_refuses_registration_with_409_sales_closed(as_attendee: Api) -> None:
    tier = TicketTierFactory.create(event__status=Event.Status.CANCELLED)

    response = as_attendee.post(f"/events/{tier.event_id}/register", valid_registration(tier))

    assert_error(response, 409, "SALES_CLOSED")
    assert nothing_booked(tier)


def test_reused_idempotency_key_for_another_request_is_422(
    as_attendee: Api, tier: TicketTier
) -> None:
    first = as_attendee.post(f"/events/{tier.event_id}/register", valid_registration(tier))
    assert first.status_code == 201
    body = valid_registration(tier) | {"quantity": 2}

    response = as_attendee.post(f"/events/{tier.event_id}/register", body)

    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    tier.refresh_from_db()
    assert tier.sold_count == 1


@pytest.mark.parametrize(
    "path",
    ["/events/not-a-uuid", "/events/12/tickets", "/orders/zzz", "/events/%20"],
)
def test_non_uuid_ids_in_the_path_are_4xx_with_an_error_code(as_attendee: Api, path: str) -> None:
    response = as_attendee.get(path)

    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"] in {"VALIDATION_ERROR", "NOT_FOUND"}


def test_nul_characters_are_refused_not_a_500(as_attendee: Api, tier: TicketTier) -> None:
    body = valid_registration(tier) | {"idempotency_key": "nul\x00key"}

    assert_error(
        as_attendee.post(f"/events/{tier.event_id}/register", body), 422, "VALIDATION_ERROR"
    )
    assert_error(as_attendee.get("/events", {"q": "a\x00b"}), 422, "VALIDATION_ERROR")
    assert_error(as_attendee.get("/events", {"city": "\x00"}), 422, "VALIDATION_ERROR")
    assert nothing_booked(tier)


# --- Authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer bo_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "bo_no_scheme"],
    ids=["missing", "unknown-token", "empty-token", "basic-auth", "no-scheme"],
)
def test_invalid_bearer_token_is_401_unauthenticated(
    client: Any, tier: TicketTier, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}

    response = client.post(
        f"/api/v1/events/{tier.event_id}/register",
        valid_registration(tier),
        content_type="application/json",
        headers=headers,
    )

    assert_error(response, 401, "UNAUTHENTICATED")
    assert nothing_booked(tier)


def test_token_of_a_deactivated_user_is_401(
    as_attendee: Api, attendee: User, tier: TicketTier
) -> None:
    User.objects.filter(pk=attendee.pk).update(is_active=False)

    response = as_attendee.post(f"/events/{tier.event_id}/register", valid_registration(tier))

    assert_error(response, 401, "UNAUTHENTICATED")
    assert nothing_booked(tier)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "x@example.com"}, 422, "VALIDATION_ERROR"),
        ({"email": "x@example.com", "password": 123}, 422, "VALIDATION_ERROR"),
        ({"email": "e" * 255, "password": "a-long-passphrase-42"}, 422, "VALIDATION_ERROR"),
        ({"email": "not-an-email", "password": "a-long-passphrase-42"}, 422, "INVALID_EMAIL"),
        ({"email": "x@example.com", "password": "short"}, 422, "WEAK_PASSWORD"),
        ({"email": "x@example.com", "password": "p" * 129}, 422, "VALIDATION_ERROR"),
    ],
    ids=["no-password", "int-password", "long-email", "bad-email", "weak", "long-password"],
)
def test_bad_sign_up_is_refused_with_a_stable_code(
    anonymous: Api, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(anonymous.post("/auth/signup", body), status, code)
    assert User.objects.count() == 0


def test_token_request_with_missing_fields_is_422(anonymous: Api) -> None:
    assert_error(anonymous.post("/auth/token", {"email": "x@example.com"}), 422, "VALIDATION_ERROR")
    assert ApiToken.objects.count() == 0


# --- Event search and creation ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "garbage"},
        {"end_date": "2024-13-45"},
        {"limit": "0"},
        {"limit": "1000"},
        {"limit": "ten"},
        {"offset": "-1"},
    ],
    ids=lambda p: next(iter(p)),
)
def test_bad_search_filters_are_422(anonymous: Api, params: dict[str, str]) -> None:
    assert_error(anonymous.get("/events", params), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/events", {"q": "q" * (MAX_QUERY_CHARS + 1)}),
        ("/events", {"q": "ä" * 5000}),
        ("/search", {"query": "q" * (MAX_QUERY_CHARS + 1)}),
    ],
    ids=["events-q", "events-q-5000", "search-query"],
)
def test_a_search_over_the_length_limit_is_422_query_too_long(
    anonymous: Api, path: str, params: dict[str, str]
) -> None:
    error = assert_error(anonymous.get(path, params), 422, "QUERY_TOO_LONG")
    assert str(MAX_QUERY_CHARS) in error["message"]


def test_a_search_at_the_length_limit_is_answered(anonymous: Api) -> None:
    response = anonymous.get("/events", {"q": "q" * MAX_QUERY_CHARS})

    assert response.status_code == 200, response.content


def test_unknown_event_detail_is_404(anonymous: Api) -> None:
    assert_error(anonymous.get(f"/events/{uuid.uuid4()}"), 404, "NOT_FOUND")
    assert_error(anonymous.get(f"/events/{uuid.uuid4()}/tickets"), 404, "NOT_FOUND")


def event_body(**changes: Any) -> dict[str, Any]:
    body = {
        "title": "Late Jazz",
        "venue_name": "Cellar",
        "city": "Cologne",
        "starts_at": "2031-05-01T20:00:00Z",
        "ends_at": "2031-05-01T23:00:00Z",
        "tiers": [{"name": "Standing", "price": "15.00", "capacity": 80}],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"ends_at": "2031-05-01T19:00:00Z"}, 422, "INVALID_EVENT"),
        (
            {"starts_at": "2031-05-01T20:00:00", "ends_at": "2031-05-01T23:00:00"},
            422,
            "INVALID_EVENT",
        ),
        ({"time_zone": "Mars/Olympus"}, 422, "INVALID_EVENT"),
        ({"starts_at": "yesterday"}, 422, "VALIDATION_ERROR"),
        ({"title": ""}, 422, "VALIDATION_ERROR"),
        ({"title": "t" * 201}, 422, "VALIDATION_ERROR"),
        ({"city": "c" * 101}, 422, "VALIDATION_ERROR"),
        ({"currency": "EURO"}, 422, "VALIDATION_ERROR"),
        ({"tiers": []}, 422, "VALIDATION_ERROR"),
        ({"tiers": "lots"}, 422, "VALIDATION_ERROR"),
        ({"tiers": [{"name": "A", "price": "-1", "capacity": 5}]}, 422, "VALIDATION_ERROR"),
        ({"tiers": [{"name": "A", "price": "1.999", "capacity": 5}]}, 422, "VALIDATION_ERROR"),
        ({"tiers": [{"name": "A", "price": "1e400", "capacity": 5}]}, 422, "VALIDATION_ERROR"),
        ({"tiers": [{"name": "A", "price": "NaN", "capacity": 5}]}, 422, "VALIDATION_ERROR"),
        ({"tiers": [{"name": "A", "price": "1", "capacity": -5}]}, 422, "VALIDATION_ERROR"),
        ({"tiers": [{"name": "A", "price": "1", "capacity": 10**12}]}, 422, "VALIDATION_ERROR"),
        (
            {"tiers": [{"name": "A", "price": "1", "capacity": 5, "max_per_order": 0}]},
            422,
            "VALIDATION_ERROR",
        ),
        ({"category": "no-such-category"}, 404, "NOT_FOUND"),
        ({"organization_id": str(uuid.uuid4())}, 403, "FORBIDDEN"),
    ],
    ids=[
        "ends-before-start",
        "naive-times",
        "unknown-tz",
        "bad-date",
        "empty-title",
        "long-title",
        "long-city",
        "bad-currency",
        "no-tiers",
        "tiers-wrong-type",
        "negative-price",
        "too-many-decimals",
        "huge-price",
        "nan-price",
        "negative-capacity",
        "huge-capacity",
        "zero-per-order",
        "unknown-category",
        "foreign-organization",
    ],
)
def test_bad_event_creation_is_refused_and_writes_nothing(
    as_organizer: Api, changes: dict[str, Any], status: int, code: str
) -> None:
    assert_error(as_organizer.post("/events", event_body(**changes)), status, code)
    assert Event.objects.count() == 0
    assert TicketTier.objects.count() == 0


def test_publishing_an_unknown_event_is_404(as_organizer: Api) -> None:
    assert_error(as_organizer.post(f"/events/{uuid.uuid4()}/publish"), 404, "NOT_FOUND")


# --- Payment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"idempotency_key": "p", "card_number": "1234"}, 422, "VALIDATION_ERROR"),
        ({"idempotency_key": "p", "card_number": "4" * 24}, 422, "VALIDATION_ERROR"),
        ({"idempotency_key": "p", "card_number": 4242424242424242}, 422, "VALIDATION_ERROR"),
        ({"card_number": "4242424242424242"}, 422, "VALIDATION_ERROR"),
        ({"idempotency_key": "p", "card_number": "abcd efgh ijkl mnop"}, 402, "PAYMENT_DECLINED"),
    ],
    ids=["short-card", "long-card", "card-as-number", "no-key", "letters-card"],
)
def test_bad_payment_input_is_refused_and_charges_nothing(
    as_attendee: Api, attendee: User, tier: TicketTier, body: dict[str, Any], status: int, code: str
) -> None:
    order = order_reserved(buyer=attendee, tier=tier)

    assert_error(as_attendee.post(f"/orders/{order.pk}/pay", body), status, code)
    assert not SandboxCharge.objects.filter(succeeded=True).exists()
    assert not Payment.objects.filter(status=Payment.Status.SUCCEEDED).exists()
    order.refresh_from_db()
    assert order.status != Order.Status.PAID


def test_paying_an_unknown_order_is_404_not_found(as_attendee: Api) -> None:
    response = as_attendee.post(f"/orders/{uuid.uuid4()}/pay", {"idempotency_key": "p"})

    assert_error(response, 404, "NOT_FOUND")
    assert Payment.objects.count() == 0


# --- Check-in --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"payload": ""}, "VALIDATION_ERROR"),
        ({}, "VALIDATION_ERROR"),
        ({"payload": None}, "VALIDATION_ERROR"),
        ({"payload": 12345}, "VALIDATION_ERROR"),
        ({"payload": "A" * 1001}, "VALIDATION_ERROR"),
        ({"payload": "x", "device_id": "d" * 65}, "VALIDATION_ERROR"),
        ({"payload": "x", "list_id": "not-a-uuid"}, "VALIDATION_ERROR"),
        ({"payload": "x", "list_id": str(uuid.uuid4())}, "NOT_FOUND"),
        ({"payload": "x", "scanned_at": "noon"}, "VALIDATION_ERROR"),
    ],
    ids=[
        "empty",
        "missing",
        "null",
        "number",
        "too-long",
        "long-device",
        "bad-list-id",
        "unknown-list",
        "bad-time",
    ],
)
def test_bad_scan_requests_are_4xx_and_log_nothing(
    as_door: Api, body: dict[str, Any], code: str
) -> None:
    response = as_door.post("/checkin/scan", body)

    assert_error(response, 404 if code == "NOT_FOUND" else 422, code)
    assert Scan.objects.count() == 0


def test_malformed_json_scan_is_400(as_door: Api) -> None:
    assert_error(as_door.post("/checkin/scan", raw="{payload"), 400, "MALFORMED_JSON")
    assert Scan.objects.count() == 0


def test_scan_of_a_payload_naming_an_unknown_event_is_404(
    as_door: Api, attendee: User, tier: TicketTier
) -> None:
    """Without a list, the event comes from the (unverified) payload: a made-up one is a 404."""
    payload = order_paid(buyer=attendee, tier=tier).tickets[0].qr_payload
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[5:21] = uuid.uuid4().bytes  # the event id
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()

    assert_error(as_door.post("/checkin/scan", {"payload": tampered}), 404, "NOT_FOUND")
    assert Admission.objects.count() == 0


@pytest.mark.parametrize("position", [40, 100, 140])
def test_tampered_qr_payload_is_refused_and_never_admitted(
    as_door: Api, attendee: User, tier: TicketTier, position: int
) -> None:
    """A tampered code is a scan verdict, not a broken request: valid=false with a reason."""
    payload = order_paid(buyer=attendee, tier=tier).tickets[0].qr_payload
    tampered = (
        payload[:position] + ("B" if payload[position] != "B" else "C") + payload[position + 1 :]
    )

    response = as_door.post("/checkin/scan", {"payload": tampered})

    assert response.status_code == 200
    assert response.json()["valid"] is False
    assert response.json()["reason"] == "invalid_signature"
    assert Admission.objects.count() == 0
    assert Scan.objects.filter(result=Scan.Result.REJECTED).count() == 1


@pytest.mark.parametrize("payload", ["garbage", "☃" * 50, " ", "x\x00y"])
def test_garbage_scan_payload_is_a_malformed_verdict(as_door: Api, payload: str) -> None:
    response = as_door.post("/checkin/scan", {"payload": payload})

    assert response.status_code == 200
    assert (response.json()["valid"], response.json()["reason"]) == (False, "malformed")
    assert Admission.objects.count() == 0


def test_nul_in_a_scan_at_a_known_list_is_logged_without_it(as_door: Api, event: Event) -> None:
    gate = checkin_list_default(event)

    response = as_door.post(
        "/checkin/scan", {"payload": "bad\x00code", "list_id": str(gate.pk), "device_id": "d\x00"}
    )

    assert response.status_code == 200
    assert response.json()["reason"] == "malformed"
    row = Scan.objects.get()
    assert (row.payload_excerpt, row.device_id) == ("badcode", "d")


# --- The HTTP edge: body size, unknown paths, wrong methods, crashes ------------------------
# Whatever the input, the API answers the JSON envelope with a stable code, never HTML, never 5xx.

TEN_MB = 10 * 1024 * 1024


def ten_megabytes_of_json() -> str:
    return '{"padding": "' + "x" * TEN_MB + '"}'


def test_a_10_mb_sign_up_body_is_413_payload_too_large(anonymous: Api) -> None:
    response = anonymous.post("/auth/signup", raw=ten_megabytes_of_json())

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert User.objects.count() == 0


def test_a_10_mb_registration_body_is_413_payload_too_large(
    as_attendee: Api, tier: TicketTier
) -> None:
    response = as_attendee.post(f"/events/{tier.event_id}/register", raw=ten_megabytes_of_json())

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert nothing_booked(tier)


def test_a_body_just_under_the_limit_still_reaches_validation(
    anonymous: Api, settings: Any
) -> None:
    body = '{"padding": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 100) + '"}'

    assert_error(anonymous.post("/auth/signup", raw=body), 422, "VALIDATION_ERROR")


def test_a_10_mb_form_post_to_a_page_is_a_friendly_413_page(client: Client, db: None) -> None:
    response = client.post("/accounts/login/", {"login": "a@example.com", "password": "x" * TEN_MB})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<title>Too much at once" in page and "too much to send at once" in page


@pytest.mark.parametrize(
    "path",
    ["/nope", "/events/x/y/z/q", "/orders", "/", "/api/v1/events", "/%00", "/auth"],
)
def test_an_unknown_path_under_the_api_is_a_json_404(client: Client, db: None, path: str) -> None:
    response = client.get(f"/api/v1{path}")

    assert response["Content-Type"].startswith("application/json")
    assert_error(response, 404, "NOT_FOUND")


def test_an_unknown_api_version_is_a_json_404(client: Client, db: None) -> None:
    assert_error(client.get("/api/v2/events"), 404, "NOT_FOUND")


def test_an_unknown_page_outside_the_api_stays_html(client: Client, db: None) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/auth/signup", "POST"),
        ("delete", "/events", "GET"),
        ("patch", "/checkin/scan", "POST"),
        ("get", "/auth/token", "POST"),
    ],
)
def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(
    client: Client, db: None, method: str, path: str, allowed: str
) -> None:
    response = getattr(client, method)(f"/api/v1{path}")

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert allowed in response["Allow"]


@pytest.mark.urls("tests.api.urls_failing")
def test_a_crash_outside_the_api_handlers_is_a_json_500(db: None) -> None:
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/_crash")

    assert_error(response, 500, "INTERNAL")
    assert "crashed on purpose" not in response.content.decode()


# Many kinds of bad input at once: each must be a JSON refusal with a stable code, never a 5xx.
HOSTILE_REQUESTS: list[tuple[str, str, Any]] = [
    ("post", "/auth/signup", '{"email": "a@b.c", "password": "x'),
    ("post", "/auth/signup", "[]"),
    ("post", "/auth/signup", '"just a string"'),
    ("post", "/auth/signup", "null"),
    ("post", "/auth/signup", '{"email": ["a@b.c"], "password": {"p": 1}}'),
    ("post", "/auth/signup", '{"email": "a\\u0000@b.c", "password": "a-long-passphrase-42"}'),
    ("post", "/auth/signup", '{"email": "' + "a" * 100_000 + '@b.c", "password": "p"}'),
    ("post", "/auth/token", '{"email": 1e309, "password": true}'),
    ("post", "/auth/token", b"\xff\xfe\x00garbage"),
    ("post", "/auth/token", "{" * 10_000),
    ("post", "/events/{event}/register", '{"tier_id": "{tier}", "quantity": 1e999}'),
    ("post", "/events/{event}/register", '{"tier_id": "{tier}", "quantity": ' + "9" * 5000 + "}"),
    ("post", "/events/{event}/register", '{"tier_id": "{tier}", "quantity": -0}'),
    ("post", "/events/{event}/register", '{"tier_id": "\\u0000", "quantity": 1}'),
    ("post", "/events/{event}/register", ten_megabytes_of_json()),
    ("post", "/orders/{uuid}/pay", '{"idempotency_key": "' + "k" * 100_000 + '"}'),
    ("post", "/tickets/{uuid}/transfer", '{"email": "\\u0000"}'),
    ("post", "/transfers/" + "t" * 3000 + "/accept", "{}"),
    ("post", "/checkin/scan", '{"payload": "' + "A" * 100_000 + '"}'),
    ("post", "/checkin/sync", '{"scans": ' + "[" * 5000 + "]" * 5000 + "}"),
    ("put", "/notifications/preferences", '{"phone": 12345678901234567890123}'),
    ("post", "/webhooks", '{"url": "javascript:alert(1)", "topics": ["nope"]}'),
    ("get", "/events?page=99999999999999999999999", None),
    ("get", "/events?per_page=-1&sort=%00", None),
    ("get", "/events?lat=NaN&lon=Infinity", None),
    ("get", "/events?start_date=0000-00-00", None),
    ("get", "/events/{uuid}", None),
    ("get", "/events/" + "9" * 200, None),
    ("get", "/orders/..%2F..%2Fetc%2Fpasswd", None),
    ("get", "/unknown/endpoint", None),
    ("delete", "/events/{event}", None),
    ("patch", "/orders/{uuid}/pay", "{}"),
    ("options", "/events/{event}/register", None),
]


@pytest.mark.parametrize(("method", "path", "body"), HOSTILE_REQUESTS)
def test_hostile_input_is_always_a_json_error_with_a_stable_code(
    client: Client, as_attendee: Api, tier: TicketTier, method: str, path: str, body: Any
) -> None:
    path = (
        path.replace("{event}", str(tier.event_id))
        .replace("{tier}", str(tier.pk))
        .replace("{uuid}", str(uuid.uuid4()))
    )
    kwargs: dict[str, Any] = {"headers": as_attendee.headers()}
    if body is not None:
        kwargs |= {"data": body, "content_type": "application/json"}

    response = getattr(client, method)(f"/api/v1{path}", **kwargs)

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    code = response.json()["error"]["code"]
    assert re.fullmatch(r"[A-Z][A-Z_]+", code), code
    assert nothing_booked(tier)
