"""Stripe, through the official `stripe` library (StripeClient, `client.v1.*` services).

A charge is one PaymentIntent, created and confirmed in a single request. Our idempotency key goes
to Stripe twice: as the Idempotency-Key header, so a retry of the same request (ours or the
library's own network retry) replays Stripe's first answer instead of charging again, and as
`metadata["boxoffice_key"]`, so `find_charge` can look the intent up when the answer was lost.

Stripe keeps idempotency keys for at least 24 hours; past that, the same key makes a new request.
"""

import functools
import json
import logging
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ticketing.payments.base import ChargeResult, ProviderUnavailable, RefundResult

logger = logging.getLogger(__name__)

METADATA_KEY = "boxoffice_key"

# Stripe amounts are integers in the currency's minor unit (docs.stripe.com/currencies).
# Zero-decimal currencies are sent as they are: JPY 1500 is `1500`, not `150000`.
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
# Three-decimal currencies: Stripe requires the last digit to be 0, which any amount we store
# (two decimal places) satisfies.
THREE_DECIMAL_CURRENCIES = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])
# Two-decimal in the API, but the card networks take whole units only (Stripe rejects the rest).
WHOLE_UNITS_ONLY = frozenset({"isk"})

# One retry of a lost request, with the same Idempotency-Key, so it cannot charge twice. With a
# 10 s timeout this bounds a charge at about 21 s, inside a 30 s worker timeout.
MAX_NETWORK_RETRIES = 1
WEBHOOK_TOLERANCE_SECONDS = 300  # Stripe's own default: older signatures are replays


class InvalidWebhook(Exception):
    """The body is not an event Stripe signed with our endpoint secret (or it is too old)."""


def _exponent(currency: str) -> int:
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """`amount` as Stripe's integer amount; ValueError if the currency cannot express it."""
    exponent = _exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        # Never round money silently: a fractional yen is a bug upstream, not a price.
        raise ValueError(f"{amount} {currency.upper()} has more decimals than the currency allows")
    minor = int(scaled)
    if currency.lower() in WHOLE_UNITS_ONLY and minor % 100:
        raise ValueError(f"{amount} {currency.upper()} must be a whole amount")
    return minor


def from_minor_units(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-_exponent(currency))


@functools.cache
def _requests_client(timeout: float) -> stripe.HTTPClient:
    # One client per process keeps the connection pool warm (sessions are thread-local inside).
    return stripe.RequestsClient(timeout=timeout)


def _search_literal(value: str) -> str:
    """A string literal for Stripe's search query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _result_from_intent(intent: stripe.PaymentIntent) -> ChargeResult:
    status = intent.status
    if status == "succeeded":
        return ChargeResult(succeeded=True, charge_id=intent.id)
    if status == "requires_action":
        # 3-D Secure or another customer step. We have no redirect/authentication flow yet, so
        # the buyer cannot complete it: report a decline. Nothing is captured from an intent
        # that stays in requires_action. (`error_on_requires_action` normally stops us getting
        # here; intents found by `find_charge` may still be in this state.)
        return ChargeResult(
            succeeded=False, charge_id=intent.id, decline_code="authentication_required"
        )
    if status in {"requires_payment_method", "canceled"}:
        error = intent.last_payment_error
        code = (error.decline_code or error.code) if error is not None else None
        return ChargeResult(
            succeeded=False,
            charge_id=intent.id,
            decline_code=code or ("canceled" if status == "canceled" else "payment_failed"),
        )
    # processing (rare for cards), requires_confirmation, requires_capture: not settled either
    # way; the caller keeps the payment pending and asks again later.
    raise ProviderUnavailable(f"PaymentIntent {intent.id} is {status}")


class StripeProvider:
    name = "stripe"

    def __init__(
        self, *, http_client: stripe.HTTPClient | None = None, api_base: str | None = None
    ) -> None:
        """`http_client` and `api_base` are for tests and stripe-mock; production uses neither."""
        api_key = settings.STRIPE_SECRET_KEY
        if not api_key:
            raise ImproperlyConfigured("Set STRIPE_SECRET_KEY to use the Stripe payment provider.")
        self.client = stripe.StripeClient(
            api_key,
            http_client=http_client or _requests_client(float(settings.STRIPE_TIMEOUT_SECONDS)),
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
        )

    def charge(
        self, *, amount: Decimal, currency: str, source: str, idempotency_key: str
    ) -> ChargeResult:
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": to_minor_units(amount, currency),
                    "currency": currency.lower(),
                    "payment_method": source,
                    "confirm": True,
                    # Server-side confirmation without a return_url: only methods that need no
                    # redirect, and fail the attempt rather than wait for 3-D Secure (no flow
                    # for it yet; see _result_from_intent).
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                    "error_on_requires_action": True,
                    "metadata": {METADATA_KEY: idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as e:
            return self._declined(e, fallback="card_declined")
        except stripe.InvalidRequestError as e:
            # Stripe refused the request and charged nothing: an unknown PaymentMethod, an
            # amount below the minimum. Known outcome, so a decline; logged, since it can also
            # mean a bug on our side.
            logger.warning("Stripe rejected a charge request: %s", e)
            return self._declined(e, fallback="invalid_request")
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as e:
            raise ProviderUnavailable(str(e)) from e
        return _result_from_intent(intent)

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        # Search is eventually consistent: a new intent is usually searchable within a minute,
        # during Stripe incidents up to an hour later (and Search is not offered to accounts in
        # India). So None soon after a lost response does not prove there was no charge: retry
        # `charge` with the SAME key (Stripe then replays or performs it once), never a new key.
        query = f"metadata[{_search_literal(METADATA_KEY)}]:{_search_literal(idempotency_key)}"
        try:
            found = self.client.v1.payment_intents.search(params={"query": query})
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as e:
            raise ProviderUnavailable(str(e)) from e
        intents = list(found.data)
        if not intents:
            return None
        # One key makes one intent while Stripe remembers the key; if a late retry made a
        # second one, a success among them is the answer.
        intents.sort(key=lambda intent: (intent.status != "succeeded", -intent.created))
        return _result_from_intent(intents[0])

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        try:
            # The amount's minor units depend on the charge's currency, which only Stripe knows.
            intent = self.client.v1.payment_intents.retrieve(charge_id)
            refund = self.client.v1.refunds.create(
                params={
                    "payment_intent": charge_id,
                    "amount": to_minor_units(amount, intent.currency),
                    "metadata": {METADATA_KEY: idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as e:
            raise ProviderUnavailable(str(e)) from e
        return RefundResult(
            refund_id=refund.id, amount=from_minor_units(refund.amount, refund.currency)
        )

    @staticmethod
    def _declined(error: stripe.StripeError, *, fallback: str) -> ChargeResult:
        details = error.error
        intent = details.payment_intent if details is not None else None
        decline_code = (details.decline_code if details is not None else None) or error.code
        return ChargeResult(
            succeeded=False,
            charge_id=intent.id if intent is not None else "",
            decline_code=decline_code or fallback,
        )

    @staticmethod
    def verify_webhook(payload: bytes, signature_header: str) -> dict[str, Any]:
        return verify_webhook(payload, signature_header)


def verify_webhook(payload: bytes, signature_header: str) -> dict[str, Any]:
    """The event in `payload` once its Stripe-Signature checks out; InvalidWebhook otherwise."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        # Without a secret every event would be refused as forged; say so loudly instead.
        raise ImproperlyConfigured("Set STRIPE_WEBHOOK_SECRET to receive Stripe webhooks.")
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as e:
        raise InvalidWebhook(str(e)) from e
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidWebhook("The payload is not a Stripe event")
    return event


SETTLING_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})


def settlement_from_event(event: dict[str, Any]) -> tuple[str, ChargeResult] | None:
    """(our idempotency key, the charge's outcome) for an event that settles a charge."""
    if event.get("type") not in SETTLING_EVENTS:
        return None
    payload = event["data"]["object"]
    key = (payload.get("metadata") or {}).get(METADATA_KEY)
    if not key:
        return None  # not one of ours (another integration on the same account)
    return key, _result_from_intent(stripe.PaymentIntent.construct_from(payload, ""))
