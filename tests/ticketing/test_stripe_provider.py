"""StripeProvider against recorded Stripe responses.

This machine cannot reach Stripe, so a fake transport plugged into the `stripe` library
(`StripeClient(http_client=...)`) answers each expected request with a body recorded in
stripe_responses/, and keeps what it was sent. Everything above the socket is the real library:
request encoding, headers, retries, error classes, response objects.
"""

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from ticketing.payments import get_provider
from ticketing.payments.base import ChargeResult, ProviderUnavailable, RefundResult
from ticketing.payments.stripe import (
    InvalidWebhook,
    StripeProvider,
    to_minor_units,
    verify_webhook,
)

RESPONSES = Path(__file__).parent / "stripe_responses"
KEY = "pay-3f6c1a52-9d0e-4b7a-8c11-2a5e7d9f0b34"
WEBHOOK_SECRET = "whsec_test_5f2b7c9d1e3a4b6c8d0e2f4a6b8c0d2e"


@dataclass(frozen=True)
class Reply:
    """One recorded exchange: the request we expect, and what Stripe answered."""

    method: str
    path: str
    fixture: str = ""
    status: int = 200
    error: Exception | None = None  # raised instead of answering: the network failed


@dataclass
class SentRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]

    def one(self, name: str) -> str:
        values = self.form.get(name) or self.query.get(name)
        assert values is not None and len(values) == 1, f"{name!r} not sent once: {self}"
        return values[0]


class RecordedStripe(stripe.HTTPClient):
    """The smallest `stripe.HTTPClient`: replies in order, checks each is the expected request."""

    name = "recorded"

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__()
        self.replies = replies
        self.sent: list[SentRequest] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        parts = urlsplit(url)
        self.sent.append(
            SentRequest(
                method=method.upper(),
                path=parts.path,
                query=parse_qs(parts.query),
                headers=dict(headers or {}),
                form=parse_qs(post_data or ""),
            )
        )
        assert self.replies, f"unexpected request {method.upper()} {parts.path}"
        reply = self.replies.pop(0)
        assert (method.upper(), parts.path) == (reply.method, reply.path)
        if reply.error is not None:
            raise reply.error
        body = (RESPONSES / reply.fixture).read_text()
        return (
            body,
            reply.status,
            {"request-id": "req_recorded", "content-type": "application/json"},
        )

    def close(self) -> None:
        pass

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0  # the library backs off between retries; no need to wait in a test


def timeout() -> stripe.APIConnectionError:
    # What the library's own RequestsClient raises when a request times out.
    return stripe.APIConnectionError(
        "Unexpected error communicating with Stripe. (Network error: ReadTimeout)",
        should_retry=True,
    )


@pytest.fixture(autouse=True)
def stripe_settings(settings) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_51PqR2sLkdIwHu7ixRecordedKey"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def provider_with(*replies: Reply) -> tuple[StripeProvider, RecordedStripe]:
    transport = RecordedStripe(list(replies))
    return StripeProvider(http_client=transport), transport


def create_intent(fixture: str = "", status: int = 200, error: Exception | None = None) -> Reply:
    return Reply("POST", "/v1/payment_intents", fixture, status, error)


# --- charge --------------------------------------------------------------------------------


def test_successful_charge_sends_minor_units_key_and_metadata() -> None:
    provider, stripe_api = provider_with(create_intent("payment_intent_succeeded.json"))

    result = provider.charge(
        amount=Decimal("25.00"), currency="USD", source="pm_card_visa", idempotency_key=KEY
    )

    assert result == ChargeResult(succeeded=True, charge_id="pi_3QxT7bLkdIwHu7ix0Nq4mE2c")
    [sent] = stripe_api.sent
    assert sent.headers["Idempotency-Key"] == KEY
    assert sent.headers["Authorization"] == "Bearer sk_test_51PqR2sLkdIwHu7ixRecordedKey"
    assert sent.one("amount") == "2500"
    assert sent.one("currency") == "usd"
    assert sent.one("payment_method") == "pm_card_visa"
    assert sent.one("confirm") == "true"
    assert sent.one("metadata[boxoffice_key]") == KEY
    assert sent.one("automatic_payment_methods[allow_redirects]") == "never"
    assert sent.one("error_on_requires_action") == "true"


def test_zero_decimal_currency_is_not_multiplied_by_100() -> None:
    provider, stripe_api = provider_with(create_intent("payment_intent_succeeded_jpy.json"))

    result = provider.charge(
        amount=Decimal("1500"), currency="JPY", source="pm_card_visa", idempotency_key="k-jpy"
    )

    assert result.succeeded
    assert stripe_api.sent[0].one("amount") == "1500"
    assert stripe_api.sent[0].one("currency") == "jpy"


def test_fractional_yen_is_refused_before_anything_is_sent() -> None:
    provider, stripe_api = provider_with()

    with pytest.raises(ValueError, match="decimals"):
        provider.charge(
            amount=Decimal("1500.50"), currency="JPY", source="pm_card_visa", idempotency_key="k"
        )
    assert stripe_api.sent == []


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("25.00"), "usd", 2500),
        (Decimal("0.99"), "EUR", 99),
        (Decimal("1500"), "jpy", 1500),
        (Decimal("50000"), "KRW", 50000),
        (Decimal("12.34"), "kwd", 12340),  # three-decimal, last digit 0 as Stripe requires
        (Decimal("500.00"), "isk", 50000),  # two-decimal in the API, whole krónur only
    ],
)
def test_minor_units_follow_the_currency(amount: Decimal, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


def test_fractional_krona_is_refused() -> None:
    with pytest.raises(ValueError, match="whole"):
        to_minor_units(Decimal("500.50"), "isk")


def test_card_decline_is_a_declined_result_with_stripes_decline_code() -> None:
    provider, stripe_api = provider_with(create_intent("error_card_declined.json", status=402))

    result = provider.charge(
        amount=Decimal("25.00"),
        currency="usd",
        source="pm_card_visa_chargeDeclinedInsufficientFunds",
        idempotency_key="pay-decline-0001",
    )

    assert result == ChargeResult(
        succeeded=False, charge_id="pi_3QxW2eLkdIwHu7ix3NoFund5", decline_code="insufficient_funds"
    )
    assert stripe_api.sent[0].headers["Idempotency-Key"] == "pay-decline-0001"


def test_card_needing_3d_secure_is_declined_as_authentication_required() -> None:
    # With error_on_requires_action Stripe fails the attempt itself (HTTP 402).
    provider, _ = provider_with(create_intent("error_authentication_required.json", status=402))

    result = provider.charge(
        amount=Decimal("25.00"),
        currency="usd",
        source="pm_card_authenticationRequired",
        idempotency_key="pay-3ds-0002",
    )

    assert result == ChargeResult(
        succeeded=False,
        charge_id="pi_3QxX3fLkdIwHu7ix4AuthReq",
        decline_code="authentication_required",
    )


def test_intent_left_in_requires_action_is_declined_as_authentication_required() -> None:
    provider, _ = provider_with(create_intent("payment_intent_requires_action.json"))

    result = provider.charge(
        amount=Decimal("25.00"),
        currency="usd",
        source="pm_card_threeDSecure2Required",
        idempotency_key="pay-3ds-0001",
    )

    assert result == ChargeResult(
        succeeded=False,
        charge_id="pi_3QxV9dLkdIwHu7ix2Tds3Ds2",
        decline_code="authentication_required",
    )


def test_unknown_payment_method_is_declined_without_a_charge() -> None:
    provider, _ = provider_with(create_intent("error_no_such_payment_method.json", status=400))

    result = provider.charge(
        amount=Decimal("25.00"), currency="usd", source="pm_doesnotexist", idempotency_key="k"
    )

    assert result == ChargeResult(succeeded=False, decline_code="resource_missing")


def test_timeouts_raise_provider_unavailable_after_one_retry_with_the_same_key() -> None:
    provider, stripe_api = provider_with(
        create_intent(error=timeout()), create_intent(error=timeout())
    )

    with pytest.raises(ProviderUnavailable):
        provider.charge(
            amount=Decimal("25.00"), currency="usd", source="pm_card_visa", idempotency_key=KEY
        )

    assert [sent.headers["Idempotency-Key"] for sent in stripe_api.sent] == [KEY, KEY]


def test_lost_response_is_retried_with_the_same_key_and_then_succeeds() -> None:
    provider, stripe_api = provider_with(
        create_intent(error=timeout()), create_intent("payment_intent_succeeded.json")
    )

    result = provider.charge(
        amount=Decimal("25.00"), currency="usd", source="pm_card_visa", idempotency_key=KEY
    )

    assert result.succeeded
    first, second = stripe_api.sent
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == KEY
    assert first.form == second.form


def test_stripe_server_errors_raise_provider_unavailable() -> None:
    provider, stripe_api = provider_with(
        create_intent("error_api_500.json", status=500),
        create_intent("error_api_500.json", status=500),
    )

    with pytest.raises(ProviderUnavailable):
        provider.charge(
            amount=Decimal("25.00"), currency="usd", source="pm_card_visa", idempotency_key=KEY
        )
    assert len(stripe_api.sent) == 2


def test_charging_twice_with_one_key_sends_the_same_idempotency_key() -> None:
    # Stripe replays the first answer for a key it has seen; our part is to send the same key.
    provider, stripe_api = provider_with(
        create_intent("payment_intent_succeeded.json"),
        create_intent("payment_intent_succeeded.json"),
    )

    first = provider.charge(
        amount=Decimal("25.00"), currency="usd", source="pm_card_visa", idempotency_key=KEY
    )
    second = provider.charge(
        amount=Decimal("25.00"), currency="usd", source="pm_card_visa", idempotency_key=KEY
    )

    assert first == second
    assert [sent.headers["Idempotency-Key"] for sent in stripe_api.sent] == [KEY, KEY]
    assert stripe_api.sent[0].form == stripe_api.sent[1].form


def test_real_transport_timeout_raises_provider_unavailable(settings) -> None:
    # The library's own RequestsClient, with our timeout, against a local port that never
    # answers: proves STRIPE_TIMEOUT_SECONDS reaches the socket and ends in ProviderUnavailable.
    settings.STRIPE_TIMEOUT_SECONDS = 0.2
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        provider = StripeProvider(api_base=f"http://127.0.0.1:{port}")
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable):
            provider.charge(
                amount=Decimal("25.00"), currency="usd", source="pm_card_visa", idempotency_key=KEY
            )
    assert time.monotonic() - started < 5


# --- find_charge ---------------------------------------------------------------------------


def search() -> str:
    return "/v1/payment_intents/search"


def test_find_charge_finds_the_intent_by_its_metadata_key() -> None:
    provider, stripe_api = provider_with(Reply("GET", search(), "payment_intent_search_found.json"))

    result = provider.find_charge(idempotency_key=KEY)

    assert result == ChargeResult(succeeded=True, charge_id="pi_3QxT7bLkdIwHu7ix0Nq4mE2c")
    assert stripe_api.sent[0].query["query"] == [f"metadata['boxoffice_key']:'{KEY}'"]


def test_find_charge_reports_a_declined_intent_as_declined() -> None:
    provider, _ = provider_with(Reply("GET", search(), "payment_intent_search_declined.json"))

    result = provider.find_charge(idempotency_key="pay-decline-0001")

    assert result == ChargeResult(
        succeeded=False, charge_id="pi_3QxW2eLkdIwHu7ix3NoFund5", decline_code="insufficient_funds"
    )


def test_find_charge_returns_none_when_stripe_has_no_intent_for_the_key() -> None:
    provider, _ = provider_with(Reply("GET", search(), "payment_intent_search_empty.json"))

    assert provider.find_charge(idempotency_key="pay-never-made") is None


def test_find_charge_escapes_quotes_in_the_key() -> None:
    provider, stripe_api = provider_with(Reply("GET", search(), "payment_intent_search_empty.json"))

    provider.find_charge(idempotency_key="it's")

    assert stripe_api.sent[0].query["query"] == ["metadata['boxoffice_key']:'it\\'s'"]


def test_find_charge_raises_provider_unavailable_when_stripe_cannot_be_reached() -> None:
    provider, _ = provider_with(
        Reply("GET", search(), error=timeout()), Reply("GET", search(), error=timeout())
    )

    with pytest.raises(ProviderUnavailable):
        provider.find_charge(idempotency_key=KEY)


# --- refund --------------------------------------------------------------------------------


def test_refund_sends_minor_units_of_the_charge_currency_and_the_key() -> None:
    provider, stripe_api = provider_with(
        Reply(
            "GET",
            "/v1/payment_intents/pi_3QxT7bLkdIwHu7ix0Nq4mE2c",
            "payment_intent_succeeded.json",
        ),
        Reply("POST", "/v1/refunds", "refund_succeeded.json"),
    )

    result = provider.refund(
        charge_id="pi_3QxT7bLkdIwHu7ix0Nq4mE2c",
        amount=Decimal("10.00"),
        idempotency_key="refund-7a1d4c2e-0001",
    )

    assert result == RefundResult(refund_id="re_3QxT7bLkdIwHu7ix0Rf1nD2e", amount=Decimal("10.00"))
    refund = stripe_api.sent[1]
    assert refund.headers["Idempotency-Key"] == "refund-7a1d4c2e-0001"
    assert refund.one("payment_intent") == "pi_3QxT7bLkdIwHu7ix0Nq4mE2c"
    assert refund.one("amount") == "1000"


def test_refund_in_yen_is_not_multiplied_by_100() -> None:
    provider, stripe_api = provider_with(
        Reply(
            "GET",
            "/v1/payment_intents/pi_3QxU1cLkdIwHu7ix1Jp9yEn5",
            "payment_intent_succeeded_jpy.json",
        ),
        Reply("POST", "/v1/refunds", "refund_pending_jpy.json"),
    )

    result = provider.refund(
        charge_id="pi_3QxU1cLkdIwHu7ix1Jp9yEn5", amount=Decimal("500"), idempotency_key="r-jpy"
    )

    assert result == RefundResult(refund_id="re_3QxU1cLkdIwHu7ix1Rf2nJ3k", amount=Decimal("500"))
    assert stripe_api.sent[1].one("amount") == "500"


def test_refund_raises_provider_unavailable_on_timeout_after_retrying_with_the_same_key() -> None:
    provider, stripe_api = provider_with(
        Reply(
            "GET",
            "/v1/payment_intents/pi_3QxT7bLkdIwHu7ix0Nq4mE2c",
            "payment_intent_succeeded.json",
        ),
        Reply("POST", "/v1/refunds", error=timeout()),
        Reply("POST", "/v1/refunds", error=timeout()),
    )

    with pytest.raises(ProviderUnavailable):
        provider.refund(
            charge_id="pi_3QxT7bLkdIwHu7ix0Nq4mE2c", amount=Decimal("10.00"), idempotency_key="r-1"
        )
    assert [sent.headers["Idempotency-Key"] for sent in stripe_api.sent[1:]] == ["r-1", "r-1"]


# --- configuration -------------------------------------------------------------------------


def test_get_provider_builds_the_stripe_provider() -> None:
    assert get_provider("stripe").name == "stripe"


def test_missing_secret_key_is_a_configuration_error(settings) -> None:
    settings.STRIPE_SECRET_KEY = ""

    with pytest.raises(ImproperlyConfigured, match="STRIPE_SECRET_KEY"):
        StripeProvider()


def test_settings_refuse_to_load_with_stripe_selected_and_no_key() -> None:
    env = {
        **os.environ,
        "DEBUG": "1",
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_SECRET_KEY": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    completed = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert "STRIPE_SECRET_KEY" in completed.stderr


# --- webhooks ------------------------------------------------------------------------------


@pytest.fixture
def event_body() -> Iterator[bytes]:
    yield (RESPONSES / "event_payment_intent_succeeded.json").read_bytes()


def signed(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A Stripe-Signature header made the way Stripe documents it, independently of the library."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def test_webhook_signed_with_our_secret_verifies(event_body: bytes) -> None:
    event = verify_webhook(event_body, signed(event_body))

    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"]["metadata"]["boxoffice_key"] == KEY


def test_webhook_verifies_through_the_provider_too(event_body: bytes) -> None:
    event = StripeProvider.verify_webhook(event_body, signed(event_body))

    assert event["id"] == "evt_3QxT7bLkdIwHu7ix0Ev3nT4a"


def test_tampered_webhook_payload_is_rejected(event_body: bytes) -> None:
    header = signed(event_body)
    tampered = event_body.replace(b'"amount": 2500', b'"amount": 1')
    assert tampered != event_body

    with pytest.raises(InvalidWebhook):
        verify_webhook(tampered, header)


def test_webhook_signed_with_another_secret_is_rejected(event_body: bytes) -> None:
    with pytest.raises(InvalidWebhook):
        verify_webhook(event_body, signed(event_body, secret="whsec_someone_else"))


def test_webhook_with_an_old_timestamp_is_rejected(event_body: bytes) -> None:
    ten_minutes_ago = int(time.time()) - 600

    with pytest.raises(InvalidWebhook, match="tolerance"):
        verify_webhook(event_body, signed(event_body, at=ten_minutes_ago))


@pytest.mark.parametrize("header", ["", "garbage", "t=1767225601"])
def test_webhook_without_a_usable_signature_is_rejected(event_body: bytes, header: str) -> None:
    with pytest.raises(InvalidWebhook):
        verify_webhook(event_body, header)


def test_webhook_that_is_not_an_event_is_rejected() -> None:
    body = json.dumps({"object": "payment_intent"}).encode()

    with pytest.raises(InvalidWebhook):
        verify_webhook(body, signed(body))


def test_webhooks_without_a_configured_secret_are_a_configuration_error(
    settings, event_body: bytes
) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ""

    with pytest.raises(ImproperlyConfigured, match="STRIPE_WEBHOOK_SECRET"):
        verify_webhook(event_body, signed(event_body, secret=""))
