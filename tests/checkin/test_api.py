"""POST /api/v1/checkin/scan, bundle and sync over HTTP with a bearer token."""

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from checkin.models import Admission, CheckinList, Scan
from checkin.services import checkin_list_default
from events.models import Event
from tests.checkin.test_permissions import bearer
from ticketing.models import Ticket


@pytest.fixture
def auth(client: Client, door_staff: User) -> dict[str, str]:
    return bearer(client, door_staff)


def post(client: Client, url: str, body: object, auth: dict[str, str]) -> dict:
    response = client.post(url, json.dumps(body), content_type="application/json", headers=auth)
    return {"status": response.status_code, **response.json()}


def test_scan_answers_the_documented_fields(
    client: Client, auth: dict[str, str], event: Event, ticket: Ticket
) -> None:
    gate = checkin_list_default(event)
    body = {"payload": ticket.qr_payload, "list_id": str(gate.pk), "device_id": "api-1"}

    first = post(client, "/api/v1/checkin/scan", body, auth)
    second = post(client, "/api/v1/checkin/scan", body, auth)

    assert first["status"] == 200
    assert {k: first[k] for k in ("valid", "reason", "attendee_name", "tier", "already_used")} == {
        "valid": True,
        "reason": "ok",
        "attendee_name": ticket.attendee_name,
        "tier": ticket.tier.name,
        "already_used": False,
    }
    assert first["first_used_at"] is None
    assert (second["valid"], second["reason"], second["already_used"]) == (
        False,
        "already_used",
        True,
    )
    assert second["first_used_at"] is not None
    assert Scan.objects.filter(device_id="api-1").count() == 2


def test_scan_with_scanned_at_records_that_time(
    client: Client, auth: dict[str, str], event: Event, ticket: Ticket
) -> None:
    gate = checkin_list_default(event)
    at = timezone.now() - timedelta(minutes=3)

    post(
        client,
        "/api/v1/checkin/scan",
        {"payload": ticket.qr_payload, "list_id": str(gate.pk), "scanned_at": at.isoformat()},
        auth,
    )

    assert Admission.objects.get().admitted_at == at


def test_scan_exit_on_a_reentry_list(
    client: Client, auth: dict[str, str], event: Event, ticket: Ticket
) -> None:
    gate = CheckinList.objects.create(event=event, name="Arena", allow_reentry=True)
    base = {"payload": ticket.qr_payload, "list_id": str(gate.pk)}

    reasons = [
        post(client, "/api/v1/checkin/scan", {**base, "direction": d}, auth)["reason"]
        for d in ("in", "out", "in", "in")
    ]

    assert reasons == ["ok", "exit", "ok", "already_inside"]


@pytest.mark.parametrize(
    "body",
    [
        {"payload": ""},
        {"payload": "x", "list_id": "not-a-uuid"},
        {"payload": "x", "direction": "sideways"},
        {"payload": "x", "scanned_at": "tuesday"},
    ],
)
def test_scan_with_bad_input_is_a_validation_error(
    client: Client, auth: dict[str, str], body: dict
) -> None:
    answer = post(client, "/api/v1/checkin/scan", body, auth)

    assert answer["status"] == 422
    assert answer["error"]["code"] == "VALIDATION_ERROR"


def test_scan_against_an_unknown_list_is_404(client: Client, auth: dict[str, str]) -> None:
    answer = post(
        client, "/api/v1/checkin/scan", {"payload": "x", "list_id": str(uuid.uuid4())}, auth
    )

    assert (answer["status"], answer["error"]["code"]) == (404, "NOT_FOUND")


def test_bundle_and_sync_over_the_api(
    client: Client, auth: dict[str, str], event: Event, ticket: Ticket
) -> None:
    gate = checkin_list_default(event)
    bundle = client.get(f"/api/v1/checkin/lists/{gate.pk}/bundle", headers=auth).json()
    scan = {
        "client_scan_id": str(uuid.uuid4()),
        "payload": ticket.qr_payload,
        "scanned_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "local_result": "admitted",
    }

    first = post(client, "/api/v1/checkin/sync", {"list_id": str(gate.pk), "scans": [scan]}, auth)
    again = post(client, "/api/v1/checkin/sync", {"list_id": str(gate.pk), "scans": [scan]}, auth)

    assert bundle["tickets"][0][0] == str(ticket.pk)
    assert [(r["reason"], r["duplicate"]) for r in first["results"]] == [("ok", False)]
    assert [(r["reason"], r["duplicate"]) for r in again["results"]] == [("ok", True)]
    assert Scan.objects.count() == 1


def test_bundle_of_another_organizations_list_is_404(
    client: Client, auth: dict[str, str], foreign_list: CheckinList
) -> None:
    response = client.get(f"/api/v1/checkin/lists/{foreign_list.pk}/bundle", headers=auth)

    assert response.status_code == 404


@pytest.fixture
def foreign_list(db: None) -> CheckinList:
    from tests.factories import EventFactory

    return checkin_list_default(EventFactory.create())
