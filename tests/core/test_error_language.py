"""Domain errors speak the visitor's language: a form error on a German page is German, an API
error follows Accept-Language with the same code, and a WSGI fast lane answers in the language
the request asks for, not in the one its thread last served."""

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import User
from events.models import TicketTier
from tests.api.conftest import login
from tests.factories import TicketTierFactory, UserFactory, order_paid, order_reserved
from ticketing.booking.fastlane import SoldOutFastLane
from ticketing.booking.gate import gate_sync
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def test_a_checkout_form_error_is_in_the_pages_language(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    held = order_reserved(buyer=attendee, tier=tier)
    Voucher.objects.create(event=tier.event, code="HALF", kind="percent", value=Decimal("50"))
    client.force_login(attendee)
    url = f"/orders/{held.pk}/"

    german = client.post(
        url, {"apply_voucher": "1", "voucher": "NOPE"}, headers={"accept-language": "de"}
    )
    english = client.post(
        url, {"apply_voucher": "1", "voucher": "NOPE"}, headers={"accept-language": "en"}
    )

    assert german.status_code == english.status_code == 422
    assert (
        "Für diese Veranstaltung gibt es keinen Gutschein mit diesem Code."
        in german.content.decode()
    )
    assert "There is no voucher with this code for this event." in english.content.decode()


def test_an_api_error_keeps_its_code_and_speaks_accept_language(
    client: Client, attendee: User
) -> None:
    api = login(client, attendee)
    unknown = "/api/v1/orders/00000000-0000-0000-0000-000000000000"
    answers = {
        language: client.get(unknown, headers={**api.headers(), "accept-language": language})
        for language in ("de", "en")
    }

    assert {a.status_code for a in answers.values()} == {404}
    assert {a.json()["error"]["code"] for a in answers.values()} == {"NOT_FOUND"}
    assert answers["de"].json()["error"]["message"] != answers["en"].json()["error"]["message"]


def sold_out_answer(tier: TicketTier, **headers: str) -> dict[str, Any]:
    body = json.dumps({"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": "k"}).encode()
    lane = SoldOutFastLane(lambda environ, start: [b"django"])
    environ = {
        "PATH_INFO": f"/api/v1/events/{tier.event_id}/register",
        "REQUEST_METHOD": "POST",
        "HTTP_AUTHORIZATION": "Bearer x",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **headers,
    }
    chunks = lane(environ, lambda status, headers: None)
    return dict(json.loads(b"".join(chunks))["error"])


def test_the_sold_out_fast_lane_answers_in_the_requests_language() -> None:
    tier = TicketTierFactory.create(capacity=1)
    order_paid(buyer=UserFactory.create(), tier=tier)
    gate_sync(event_ids=[tier.event_id])

    german = sold_out_answer(tier, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    # The thread served a German request last; this one asks for nothing, so it gets English.
    with translation.override("de"):
        unasked = sold_out_answer(tier)
    chosen = sold_out_answer(tier, HTTP_COOKIE="django_language=de")

    assert german["code"] == unasked["code"] == chosen["code"] == "SOLD_OUT"
    assert german["message"] == chosen["message"] == "Leider sind diese Tickets gerade ausverkauft."
    assert unasked["message"] == "Sorry, these tickets just sold out."
