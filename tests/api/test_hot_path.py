"""The booking hot path stays lean: a fixed, small number of queries and no session writes."""

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkin.signing import current_signing_key
from events.models import TicketTier
from tests.api.conftest import Api
from tests.factories import TicketTierFactory, UserFactory, order_reserved
from tests.ticketing.seated import seat, seated_event
from ticketing.booking.gate import gate_sync
from ticketing.seating.services import SeatBlock

# Budgets in statements as the test sees them: inside the test's transaction each single-statement
# step of ticketing.booking.hotpath adds a SAVEPOINT and a RELEASE (in production it runs in
# autocommit).
REGISTER_QUERIES = 4  # token; the statement that checks, takes inventory and places the order
SEATED_REGISTER_QUERIES = 4  # token; the statement that locks the seats, checks them free,
# takes inventory and places the order (with its SAVEPOINT and RELEASE); likewise for chosen seats
SOLD_OUT_QUERIES = 2  # the token, the idempotency key: Redis answers the rest
PAY_QUERIES = 15  # the token's lookup is this process's, made by register; start (lock the order
# if the event asks no required attendee question, insert the payment); charge; signing key; then
# one transaction: the statement (lock both, pay, settle, issue tickets), the outbox row, the
# audit row (the chain lock, whether this payment is recorded already together with the chain's
# last digest, the insert) and whether the organizer invoices (invoicing numbers an invoice in
# the paying transaction when it does)


def register(api: Api, tier: TicketTier) -> Any:
    body = {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": uuid.uuid4().hex}
    return api.post(f"/events/{tier.event_id}/register", body)


def run(api_call: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = api_call()
    return response, [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db
def test_register_and_pay_take_a_fixed_number_of_queries(
    as_attendee: Api, tier: TicketTier
) -> None:
    current_signing_key(tier.event_id)  # made once per event, not per sale
    response, register_sql = run(lambda: register(as_attendee, tier))
    assert response.status_code == 201, response.content
    order_id = response.json()["order_id"]

    response, pay_sql = run(
        lambda: as_attendee.post(f"/orders/{order_id}/pay", {"idempotency_key": "p"})
    )
    assert response.status_code == 200, response.content

    assert len(register_sql) == REGISTER_QUERIES, "\n".join(register_sql)
    assert len(pay_sql) == PAY_QUERIES, "\n".join(pay_sql)
    assert not any("django_session" in sql for sql in register_sql + pay_sql)


@pytest.mark.django_db
def test_pay_queries_do_not_grow_with_the_number_of_tickets(as_attendee: Api) -> None:
    counts = []
    for quantity in (1, 8):
        tier = TicketTierFactory.create(max_per_order=10)
        current_signing_key(tier.event_id)
        body = {"tier_id": str(tier.pk), "quantity": quantity, "idempotency_key": f"r{quantity}"}
        order_id = as_attendee.post(f"/events/{tier.event_id}/register", body).json()["order_id"]
        response, sql = run(
            lambda order_id=order_id, q=quantity: as_attendee.post(
                f"/orders/{order_id}/pay", {"idempotency_key": f"p{q}"}
            )
        )
        assert len(response.json()["ticket_ids"]) == quantity
        counts.append(len(sql))

    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_a_sold_out_tier_is_answered_without_touching_inventory(as_attendee: Api) -> None:
    tier = TicketTierFactory.create(capacity=1)
    order_reserved(buyer=UserFactory.create(), tier=tier)
    gate_sync()
    # The first refusal of the second may look for lapsed holds in PostgreSQL; the rest don't.
    assert register(as_attendee, tier).status_code == 409

    response, sql = run(lambda: register(as_attendee, tier))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "SOLD_OUT"
    assert len(sql) <= SOLD_OUT_QUERIES, "\n".join(sql)
    assert not any("tickettier" in s for s in sql)


@pytest.mark.django_db
@pytest.mark.parametrize("shape", ["best_available", "seat_ids"])
def test_a_seated_register_takes_as_few_queries_as_general_admission(
    as_attendee: Api, shape: str
) -> None:
    event, tiers = seated_event(SeatBlock(section="Stalls", rows=2, seats_per_row=10, zone="A"))
    gate_sync()
    tier = tiers["A"]
    if shape == "best_available":
        choice: dict[str, Any] = {"best_available": {"tier_id": str(tier.pk), "quantity": 1}}
    else:
        choice = {
            "seat_ids": [str(seat(event, "Stalls A-3").pk), str(seat(event, "Stalls A-4").pk)]
        }

    response, sql = run(
        lambda: as_attendee.post(
            f"/events/{event.pk}/register", {**choice, "idempotency_key": uuid.uuid4().hex}
        )
    )

    assert response.status_code == 201, response.content
    assert len(response.json()["seat_ids"]) == (1 if shape == "best_available" else 2)
    assert len(sql) == SEATED_REGISTER_QUERIES, "\n".join(sql)
