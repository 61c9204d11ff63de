"""The scan fast lane answers exactly what the API answers, and hands anything else to Django."""

import io
import json
from typing import Any

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django.utils import translation

from accounts.models import User
from checkin.fastlane import ScanFastLane
from checkin.models import Admission, CheckinList, Scan
from checkin.services import checkin_list_default
from events.models import Event
from tests.checkin.test_permissions import bearer
from tests.checkin.test_scan import b64, raw_of
from tests.factories import PASSWORD, EventFactory, TicketTierFactory, order_paid
from ticketing.models import Ticket


def environ(body: Any, token: str | None, **headers: str) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    env = RequestFactory()._base_environ(  # type: ignore[attr-defined]
        REQUEST_METHOD="POST",
        PATH_INFO="/api/v1/checkin/scan",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(raw)),
    )
    env["wsgi.input"] = io.BytesIO(raw)
    if token:
        env["HTTP_AUTHORIZATION"] = token
    env.update(headers)
    return env


class Recorder:
    """Stands in for Django behind the lane and records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, env: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(env["wsgi.input"].read(int(env["CONTENT_LENGTH"] or 0)))
        start_response("418 Django", [])
        return [b"{}"]


def call(app: Any, body: Any, token: str | None, **headers: str) -> tuple[int, dict[str, Any]]:
    statuses: list[str] = []
    # As Django's test client does: the request signals must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        raw = b"".join(
            app(environ(body, token, **headers), lambda status, _: statuses.append(status))
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return int(statuses[0].split()[0]), json.loads(raw)


@pytest.fixture
def token(client: Client, door_staff: User) -> str:
    return bearer(client, door_staff)["Authorization"]


def scenario(event: Event, ticket: Ticket, gate: CheckinList) -> list[dict[str, Any]]:
    raw = raw_of(ticket.qr_payload)
    raw[30] ^= 1
    void = order_paid(buyer=ticket.holder, tier=ticket.tier).tickets[0]
    Ticket.objects.filter(pk=void.pk).update(status="void", void_reason="transferred")
    other = order_paid(
        buyer=ticket.holder, tier=TicketTierFactory.create(event=EventFactory.create())
    ).tickets[0]
    base = {"list_id": str(gate.pk), "device_id": "gate-7"}
    return [
        {**base, "payload": ticket.qr_payload},
        {**base, "payload": ticket.qr_payload},
        {**base, "payload": b64(bytes(raw))},
        {**base, "payload": "x"},
        {**base, "payload": void.qr_payload},
        {**base, "payload": other.qr_payload},
        {**base, "payload": ticket.qr_payload, "direction": "out"},
        {**base, "payload": ticket.qr_payload, "scanned_at": "2026-01-01T10:00:00Z"},
        {"payload": ticket.qr_payload, "list_id": "00000000-0000-0000-0000-000000000000"},
    ]


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    answer = dict(answer)
    answer.pop("scan_id", None)
    if answer.get("first_used_at"):
        answer["first_used_at"] = "set"
    return answer


def test_fast_lane_answers_as_the_api_does(event: Event, ticket: Ticket, token: str) -> None:
    gate = checkin_list_default(event)
    bodies = scenario(event, ticket, gate)
    recorder = Recorder()

    fast = [call(ScanFastLane(recorder), body, token) for body in bodies]
    assert recorder.bodies == []  # all answered by the lane
    logged = Scan.objects.count()
    Admission.objects.all().delete()
    Scan.objects.all().delete()
    slow = [call(WSGIHandler(), body, token) for body in bodies]

    assert [(s, comparable(a)) for s, a in fast] == [(s, comparable(a)) for s, a in slow]
    assert [a.get("reason") for _, a in fast] == [
        "ok",
        "already_used",
        "invalid_signature",
        "malformed",
        "transferred",
        "wrong_event",
        "exit_not_allowed",
        "already_used",
        None,
    ]
    assert fast[-1] == (404, {"error": {"code": "NOT_FOUND", "message": "No such check-in list."}})
    assert logged == Scan.objects.count() == 8


def test_the_lane_answers_a_german_door_phone_in_german_as_django_does(
    event: Event, ticket: Ticket, token: str
) -> None:
    body = {"list_id": str(checkin_list_default(event).pk), "payload": ticket.qr_payload}
    german = {"HTTP_ACCEPT_LANGUAGE": "de"}
    with translation.override("en"):  # the thread's last request was someone else's
        admitted = call(ScanFastLane(Recorder()), body, token, **german)
        again = call(ScanFastLane(Recorder()), body, token, **german)
        django = call(WSGIHandler(), body, token, **german)

    assert admitted[1]["message"] == "Eingelassen"
    assert again[1]["reason"] == django[1]["reason"] == "already_used"
    assert again[1]["message"] == django[1]["message"] != "Already used."


@pytest.mark.parametrize(
    "body",
    [
        {"payload": "x"},  # no list: the slow path finds the event from the payload
        {"payload": "x", "list_id": "nope"},
        {"payload": "", "list_id": "00000000-0000-0000-0000-000000000000"},
        {"payload": "x", "list_id": "00000000-0000-0000-0000-000000000000", "direction": "up"},
        {"payload": "x", "list_id": "00000000-0000-0000-0000-000000000000", "extra": 1},
        {"payload": "x", "list_id": "00000000-0000-0000-0000-000000000000", "scanned_at": 5},
        {"payload": 5, "list_id": "00000000-0000-0000-0000-000000000000"},
        [1, 2],
        b"{not json",
    ],
)
def test_anything_but_the_plain_case_goes_to_django(body: Any, token: str) -> None:
    recorder = Recorder()

    status, _ = call(ScanFastLane(recorder), body, token)

    assert status == 418
    assert len(recorder.bodies) == 1
    assert not Scan.objects.exists()


def test_a_token_that_does_not_authenticate_goes_to_django(event: Event) -> None:
    gate = checkin_list_default(event)
    recorder = Recorder()

    status, _ = call(
        ScanFastLane(recorder), {"payload": "x", "list_id": str(gate.pk)}, "Bearer bo_wrong"
    )

    assert status == 418
    assert not Scan.objects.exists()


def test_door_staff_of_another_organization_get_404_from_the_lane(
    event: Event, client: Client
) -> None:
    from tests.factories import MembershipFactory

    stranger = MembershipFactory.create(role="door").user
    gate = checkin_list_default(event)

    status, answer = call(
        ScanFastLane(Recorder()),
        {"payload": "x", "list_id": str(gate.pk)},
        bearer(client, stranger)["Authorization"],
    )

    assert (status, answer["error"]["code"]) == (404, "NOT_FOUND")
    assert not Scan.objects.exists()


def test_a_token_without_the_checkin_scope_goes_to_django_which_refuses_it(
    event: Event, ticket: Ticket, client: Client, door_staff: User
) -> None:
    gate = checkin_list_default(event)
    issued = client.post(
        "/api/v1/auth/token",
        json.dumps({"email": door_staff.email, "password": PASSWORD, "scopes": ["events:read"]}),
        content_type="application/json",
    ).json()["token"]
    body = {"payload": ticket.qr_payload, "list_id": str(gate.pk)}
    recorder = Recorder()

    status, _ = call(ScanFastLane(recorder), body, f"Bearer {issued}")
    assert status == 418  # handed on, not scanned
    django = client.post(
        "/api/v1/checkin/scan",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {issued}"},
    )

    assert (django.status_code, django.json()["error"]["code"]) == (403, "INSUFFICIENT_SCOPE")
    assert not Scan.objects.exists()
