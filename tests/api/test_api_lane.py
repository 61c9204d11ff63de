"""register and pay with a bearer token skip the page middleware (config/api_lane.py) and answer
exactly what the full stack answers: the same outcomes, errors and headers, lane on and off."""

import gzip
import io
import json
import sys
import uuid
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from config.api_lane import SKIPPED_MIDDLEWARE, lane_middleware, takes_lane
from config.wsgi import application
from events.models import TicketTier
from tests.api.conftest import Api
from ticketing.booking.gate import gate_sync
from ticketing.models import Order

# Headers the full stack's middleware sets on an API answer, which the lane must keep.
KEPT_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Request-ID",
)


@pytest.fixture(params=[True, False], ids=["lane-on", "lane-off"])
def lane(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.API_LANE = request.param
    return bool(request.param)


def call(path: str, body: Any, *, token: str, cookie: str = "") -> tuple[int, dict[str, str], Any]:
    """POST through the production WSGI application, as gunicorn would."""
    data = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/api/v1{path}",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT_ENCODING": "gzip",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = int(status[:3]), dict(headers)

    # As Django's test client does: the test's own connection (and transaction) stays open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    if answer["headers"].get("Content-Encoding") == "gzip":  # the full stack's, not the lane's
        content = gzip.decompress(content)
    return answer["status"], answer["headers"], json.loads(content)


@pytest.mark.django_db
def test_register_and_pay_answer_the_same_with_the_lane_on_and_off(
    lane: bool, as_attendee: Api, tier: TicketTier
) -> None:
    gate_sync()
    assert as_attendee.token is not None
    key = uuid.uuid4().hex
    body = {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": key}

    status, headers, order = call(
        f"/events/{tier.event_id}/register", body, token=as_attendee.token
    )
    assert status == 201, order
    again = call(f"/events/{tier.event_id}/register", body, token=as_attendee.token)
    assert again[0] == 201 and again[2]["order_id"] == order["order_id"]  # same key, same order
    status, pay_headers, paid = call(
        f"/orders/{order['order_id']}/pay", {"idempotency_key": "p"}, token=as_attendee.token
    )

    assert status == 200, paid
    assert paid["status"] == "paid" and len(paid["ticket_ids"]) == 1
    assert Order.objects.get(pk=order["order_id"]).status == Order.Status.PAID
    for answered in (headers, pay_headers):
        assert all(name in answered for name in KEPT_HEADERS), answered
        assert answered["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "token", "status", "code"),
    [
        ("/events/{event}/register", {"tier_id": "{tier}", "quantity": 1}, "", 422, None),
        ("/events/{event}/register", {"quantity": 1, "idempotency_key": "k"}, "", 422, None),
        ("/orders/{missing}/pay", {"idempotency_key": "k"}, "", 404, "NOT_FOUND"),
        ("/events/{event}/register", {"idempotency_key": "k"}, "bo_made-up", 401, None),
    ],
)
def test_refusals_keep_the_error_envelope_with_the_lane_on_and_off(
    lane: bool,
    as_attendee: Api,
    tier: TicketTier,
    path: str,
    body: dict[str, Any],
    token: str,
    status: int,
    code: str | None,
) -> None:
    names = {"event": str(tier.event_id), "tier": str(tier.pk), "missing": str(uuid.uuid4())}
    filled = {k: v.format(**names) if isinstance(v, str) else v for k, v in body.items()}

    answered, headers, payload = call(
        path.format(**names), filled, token=token or str(as_attendee.token)
    )

    assert answered == status, payload
    assert set(payload) == {"error"} and payload["error"]["code"]
    if code is not None:
        assert payload["error"]["code"] == code
    assert "X-Request-ID" in headers


def test_only_bearer_calls_of_register_and_pay_without_a_session_take_the_lane() -> None:
    event, order = uuid.uuid4(), uuid.uuid4()

    def environ(path: str, **extra: str) -> dict[str, str]:
        return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "HTTP_AUTHORIZATION": "Bearer t"} | (
            extra
        )

    assert takes_lane(environ(f"/api/v1/events/{event}/register"))
    assert takes_lane(environ(f"/api/v1/orders/{order}/pay"))
    assert not takes_lane(environ(f"/api/v1/orders/{order}/refund"))
    assert not takes_lane(environ(f"/api/v1/orders/{order}/pay", HTTP_AUTHORIZATION=""))
    assert not takes_lane(environ(f"/api/v1/orders/{order}/pay", REQUEST_METHOD="GET"))
    assert not takes_lane(environ(f"/api/v1/orders/{order}/pay", HTTP_COOKIE="sessionid=abc"))


def test_the_lane_keeps_every_middleware_it_does_not_name_in_order(settings: Any) -> None:
    kept = lane_middleware()

    assert kept == [name for name in settings.MIDDLEWARE if name not in SKIPPED_MIDDLEWARE]
    assert set(settings.MIDDLEWARE) >= SKIPPED_MIDDLEWARE  # a renamed one would stay unskipped
    assert kept[:2] == [
        "ops.middleware.RequestObservabilityMiddleware",
        "core.middleware.ErrorContractMiddleware",
    ]
