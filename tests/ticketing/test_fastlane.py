"""The WSGI fast lane answers SOLD_OUT from Redis, and hands anything unsure to Django."""

import io
import json
from typing import Any

import pytest

from events.models import TicketTier
from tests.factories import TicketTierFactory, UserFactory, order_reserved
from ticketing.booking import gate
from ticketing.booking.fastlane import SoldOutFastLane
from ticketing.booking.gate import gate_sync, gate_take


class Django:
    """Stands in for the Django application behind the lane and records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"] or 0)))
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b"{}"]


def call(
    lane: SoldOutFastLane, path: str, body: Any, *, token: str | None = "bo_x"
) -> tuple[str, bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    statuses: list[str] = []
    answer = b"".join(lane(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], answer


@pytest.fixture
def sold_out() -> TicketTier:
    tier = TicketTierFactory.create(capacity=1)
    order_reserved(buyer=UserFactory.create(), tier=tier)
    gate_sync(event_ids=[tier.event_id])
    return tier


def register_path(tier: TicketTier) -> str:
    return f"/api/v1/events/{tier.event_id}/register"


def body(tier: TicketTier, key: str = "k1", quantity: int = 1) -> dict[str, Any]:
    return {"tier_id": str(tier.pk), "quantity": quantity, "idempotency_key": key}


@pytest.mark.django_db
def test_a_sold_out_tier_is_answered_without_django(sold_out: TicketTier) -> None:
    django = Django()

    status, answer = call(SoldOutFastLane(django), register_path(sold_out), body(sold_out))

    assert status == "409 Conflict"
    assert json.loads(answer)["error"]["code"] == "SOLD_OUT"
    assert django.bodies == []


@pytest.mark.django_db
def test_a_best_available_ask_for_a_sold_out_tier_is_answered_without_django(
    sold_out: TicketTier,
) -> None:
    django = Django()
    best = {"best_available": {"tier_id": str(sold_out.pk), "quantity": 1}, "idempotency_key": "b"}

    status, _ = call(SoldOutFastLane(django), register_path(sold_out), best)

    assert status == "409 Conflict"
    assert django.bodies == []


@pytest.mark.django_db
def test_tickets_left_go_to_django_with_the_body_intact(tier: TicketTier) -> None:
    gate_sync(event_ids=[tier.event_id])
    django = Django()
    sent = body(tier, quantity=2)

    status, _ = call(SoldOutFastLane(django), register_path(tier), sent)

    assert status == "201 Created"
    assert [json.loads(b) for b in django.bodies] == [sent]


@pytest.mark.django_db
def test_a_retry_of_an_admitted_request_goes_to_django_for_its_order(tier: TicketTier) -> None:
    gate_sync(event_ids=[tier.event_id])
    gate_take(tier.event_id, {str(tier.pk): tier.capacity}, request="mine")  # now short
    django = Django()

    assert call(SoldOutFastLane(django), register_path(tier), body(tier, key="mine"))[0] == (
        "201 Created"
    )
    assert call(SoldOutFastLane(django), register_path(tier), body(tier, key="other"))[0] == (
        "409 Conflict"
    )
    assert len(django.bodies) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case", ["no token", "bad json", "unknown tier", "zero quantity", "no key", "other path"]
)
def test_anything_unsure_goes_to_django(sold_out: TicketTier, case: str) -> None:
    django = Django()
    path = register_path(sold_out)
    sent: dict[str, Any] | bytes = body(sold_out)
    token: str | None = "bo_x"
    if case == "no token":
        token = None
    elif case == "bad json":
        sent = b"{not json"
    elif case == "unknown tier":
        sent = {**body(sold_out), "tier_id": "00000000-0000-0000-0000-000000000000"}
    elif case == "zero quantity":
        sent = {**body(sold_out), "quantity": 0}
    elif case == "no key":
        sent = {k: v for k, v in body(sold_out).items() if k != "idempotency_key"}
    else:
        path = f"/api/v1/orders/{sold_out.event_id}/pay"

    status, _ = call(SoldOutFastLane(django), path, sent, token=token)

    assert status == "201 Created"
    assert len(django.bodies) == 1


@pytest.mark.django_db
def test_with_redis_down_everything_goes_to_django(
    sold_out: TicketTier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "redis_client", lambda: None)
    django = Django()

    assert call(SoldOutFastLane(django), register_path(sold_out), body(sold_out))[0] == (
        "201 Created"
    )
