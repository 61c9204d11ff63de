"""Stripe's webhook settles a charge whose answer we lost: tickets once, or the hold released."""

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from events.models import TicketTier
from tests.factories import order_reserved
from ticketing.models import Order, Payment, Ticket

SECRET = "whsec_test_boxoffice"
RECORDED = Path(__file__).parent / "stripe_responses" / "event_payment_intent_succeeded.json"


@pytest.fixture(autouse=True)
def _webhook_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def pending_stripe_payment(buyer: User, tier: TicketTier) -> Payment:
    order = order_reserved(buyer=buyer, tier=tier, quantity=2)
    return Payment.objects.create(
        order=order,
        buyer=buyer,
        provider="stripe",
        amount=order.total,
        currency=order.currency,
        idempotency_key="web",
        request_digest="x",
    )


def event_for(payment: Payment, *, succeeded: bool) -> bytes:
    event = json.loads(RECORDED.read_text())
    intent = event["data"]["object"]
    intent["metadata"] = {"boxoffice_key": payment.provider_key}
    if not succeeded:
        event["type"] = "payment_intent.payment_failed"
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {"code": "card_declined", "decline_code": "do_not_honor"}
    return json.dumps(event).encode()


def post(body: bytes, *, secret: str = SECRET, timestamp: int | None = None) -> Any:
    ts = timestamp or int(time.time())
    signature = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return Client().post(
        "/payments/stripe/webhook",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=f"t={ts},v1={signature}",
    )


@pytest.mark.django_db
def test_a_succeeded_intent_issues_the_tickets_once_however_often_stripe_sends_it(
    attendee: User, tier: TicketTier
) -> None:
    payment = pending_stripe_payment(attendee, tier)
    body = event_for(payment, succeeded=True)

    for _ in range(3):
        assert post(body).status_code == 200

    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.provider_charge_id == "pi_3QxT7bLkdIwHu7ix0Nq4mE2c"
    assert Order.objects.get().status == Order.Status.PAID
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_intent_releases_the_hold(attendee: User, tier: TicketTier) -> None:
    payment = pending_stripe_payment(attendee, tier)

    assert post(event_for(payment, succeeded=False)).status_code == 200

    payment.refresh_from_db()
    tier.refresh_from_db()
    assert (payment.status, payment.failure_code) == (Payment.Status.FAILED, "do_not_honor")
    assert Order.objects.get().status == Order.Status.CANCELLED
    assert tier.sold_count == 0
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("forgery", ["wrong secret", "tampered body", "stale timestamp"])
def test_a_forged_webhook_is_refused_and_changes_nothing(
    attendee: User, tier: TicketTier, forgery: str
) -> None:
    payment = pending_stripe_payment(attendee, tier)
    body = event_for(payment, succeeded=True)
    if forgery == "wrong secret":
        response = post(body, secret="whsec_someone_else")
    elif forgery == "tampered body":
        ts = int(time.time())
        good = hmac.new(SECRET.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        response = Client().post(
            "/payments/stripe/webhook",
            body.replace(b'"amount": 2500', b'"amount": 1'),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={ts},v1={good}",
        )
    else:
        response = post(body, timestamp=int(time.time()) - 3600)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_an_event_for_someone_elses_integration_is_acknowledged_and_ignored(
    attendee: User, tier: TicketTier
) -> None:
    payment = pending_stripe_payment(attendee, tier)
    event = json.loads(event_for(payment, succeeded=True))
    event["data"]["object"]["metadata"] = {}

    assert post(json.dumps(event).encode()).status_code == 200

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_a_webhook_without_a_configured_secret_is_a_json_503_and_settles_nothing(
    settings: Any, attendee: User, tier: TicketTier
) -> None:
    payment = pending_stripe_payment(attendee, tier)
    body = event_for(payment, succeeded=True)
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = post(body)

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "WEBHOOK_NOT_CONFIGURED"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert Ticket.objects.count() == 0
