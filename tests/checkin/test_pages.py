"""The scanner page and its JSON endpoint: any code typed or read gets a verdict, never a 500."""

import json

import pytest
from django.test import Client

from accounts.models import User
from checkin.models import Admission, Scan
from events.models import Event
from ticketing.models import Ticket


@pytest.fixture
def door_client(client: Client, door_staff: User) -> Client:
    client.force_login(door_staff)
    return client


@pytest.mark.parametrize("payload", ["", "garbage", "nul\x00code", "☃" * 300])
def test_scanner_form_with_garbage_shows_invalid_and_logs_the_attempt(
    door_client: Client, event: Event, payload: str
) -> None:
    response = door_client.post(f"/door/{event.pk}/", {"payload": payload})

    assert response.status_code == 200
    assert response.context["result"].reason == "malformed"
    assert "Invalid" in response.content.decode()
    row = Scan.objects.get()
    assert (row.result, row.device_id, "\x00" in row.payload_excerpt) == (
        "rejected",
        "web-form",
        False,
    )


def test_scanner_json_admits_then_reports_already_used(
    door_client: Client, event: Event, ticket: Ticket
) -> None:
    url = f"/door/{event.pk}/scan"
    body = json.dumps({"payload": ticket.qr_payload, "device_id": "phone-1"})

    first = door_client.post(url, body, content_type="application/json").json()
    second = door_client.post(url, body, content_type="application/json").json()

    assert (first["valid"], first["attendee_name"]) == (True, ticket.attendee_name)
    assert (second["valid"], second["already_used"]) == (False, True)
    assert second["first_used_at"]
    assert Admission.objects.count() == 1
    assert Scan.objects.filter(device_id="phone-1").count() == 2


@pytest.mark.parametrize("raw", ["{payload", "[1, 2]", "null", '"text"', "\xff\xfe"])
def test_scanner_json_with_a_body_that_is_not_an_object_is_400(
    door_client: Client, event: Event, raw: str
) -> None:
    response = door_client.post(f"/door/{event.pk}/scan", raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_JSON"
    assert Scan.objects.count() == 0


def test_scanner_json_with_nul_characters_is_a_logged_malformed_verdict(
    door_client: Client, event: Event
) -> None:
    response = door_client.post(
        f"/door/{event.pk}/scan",
        json.dumps({"payload": "a\x00b", "device_id": "\x00"}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["reason"] == "malformed"
    assert Scan.objects.get().payload_excerpt == "ab"
