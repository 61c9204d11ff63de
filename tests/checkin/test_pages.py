"""The scanner page and its JSON endpoint: any code typed or read gets a verdict, never a 500."""

import json
import re
import uuid

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from accounts.models import User
from checkin.models import Admission, CheckinList, Scan
from checkin.services import checkin_list_default
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


def test_scanner_page_is_an_installable_app(door_client: Client, event: Event) -> None:
    html = door_client.get(f"/door/{event.pk}/").content.decode()
    manifest_url = re.search(r'rel="manifest" href="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    manifest = door_client.get(manifest_url.replace("&amp;", "&")).json()
    worker = door_client.get("/door/sw.js")

    assert manifest["start_url"] == f"/door/{event.pk}/"
    assert manifest["scope"] == "/door/" and manifest["display"] == "standalone"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix(settings.STATIC_URL))
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/door/"
    assert b'addEventListener("fetch"' in worker.content


@pytest.mark.parametrize("start", ["https://evil.example/", "//evil.example/door/", "/admin/"])
def test_manifest_start_url_stays_on_the_door(client: Client, start: str) -> None:
    assert client.get("/door/manifest.webmanifest", {"start": start}).json()["start_url"] == (
        "/door/"
    )


def test_scanner_switches_lists_and_offers_exit_scans_on_reentry_lists(
    door_client: Client, event: Event, ticket: Ticket
) -> None:
    checkin_list_default(event)
    arena = CheckinList.objects.create(event=event, name="Arena", allow_reentry=True)

    page = door_client.get(f"/door/{event.pk}/?list={arena.pk}")
    door_client.post(f"/door/{event.pk}/?list={arena.pk}", {"payload": ticket.qr_payload})
    out = door_client.post(
        f"/door/{event.pk}/?list={arena.pk}", {"payload": ticket.qr_payload, "direction": "out"}
    )

    html = page.content.decode()
    assert 'name="direction" value="out"' in html
    assert "Main entrance" in html  # the other list is one tap away
    assert out.context["result"].reason == "exit"
    assert "Exit" in out.content.decode()
    assert door_client.get(f"/door/{event.pk}/?list={uuid.uuid4()}").status_code == 404


def test_scanner_stats_are_the_lists_counters(
    door_client: Client, event: Event, ticket: Ticket
) -> None:
    door_client.post(f"/door/{event.pk}/", {"payload": ticket.qr_payload})

    assert door_client.get(f"/door/{event.pk}/stats").json() == {
        "admitted": 1,
        "inside": 1,
        "expected": 1,
    }
