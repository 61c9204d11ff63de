"""Seating over the API: compact seat states with ETags, register by seat ids or best available."""

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.factories import EventFactory, UserFactory
from tests.ticketing.seated import seat, seated_event
from ticketing.models import EventSeat
from ticketing.seating.services import SeatBlock, order_reserve_seats

BLOCK = SeatBlock(section="Balcony", rows=2, seats_per_row=4, zone="A", aisles_after=(2,))


def register(api: Api, event: Any, body: dict[str, Any]) -> Any:
    return api.post(f"/events/{event.pk}/register", {"idempotency_key": "k1", **body})


@pytest.mark.django_db
def test_seats_lists_every_seat_compactly_with_its_state(anonymous: Api) -> None:
    event, tiers = seated_event(BLOCK)
    taken = seat(event, "Balcony A-2")
    order_reserve_seats(
        buyer=UserFactory.create(), event_id=event.pk, seat_ids=[taken.pk], idempotency_key="x"
    )

    response = anonymous.get(f"/events/{event.pk}/seats")

    assert response.status_code == 200
    body = response.json()
    assert body["tiers"] == [
        {"id": str(tiers["A"].pk), "name": "Zone A", "price": "40.00", "currency": "EUR"}
    ]
    assert len(body["seats"]) == len(body["states"]) == 8
    by_label = {
        row[1]: (row, state) for row, state in zip(body["seats"], body["states"], strict=True)
    }
    row, state = by_label["Balcony A-2"]
    assert state == "h"
    assert row[0] == str(taken.pk) and "a" in row[5]  # next to the aisle
    assert by_label["Balcony A-1"][1] == "a"
    assert response["ETag"] == f'"{body["version"]}"'


@pytest.mark.django_db
def test_polling_states_with_the_etag_answers_not_modified_until_a_seat_changes(
    anonymous: Api,
) -> None:
    event, _ = seated_event(BLOCK)
    first = anonymous.get(f"/events/{event.pk}/seats", {"states_only": "true"})
    etag = first["ETag"]
    assert "seats" not in first.json()

    again = anonymous.client.get(
        f"/api/v1/events/{event.pk}/seats", {"states_only": "true"}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304

    order_reserve_seats(
        buyer=UserFactory.create(),
        event_id=event.pk,
        seat_ids=[seat(event, "Balcony B-3").pk],
        idempotency_key="y",
    )
    from django.core.cache import cache

    cache.delete(f"seat-states:{event.pk}")  # the 1 s cache, not waited out in a test
    changed = anonymous.client.get(
        f"/api/v1/events/{event.pk}/seats", {"states_only": "true"}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json()["states"].count("h") == 1


@pytest.mark.django_db
def test_seats_of_a_draft_or_unknown_event_are_not_found(anonymous: Api) -> None:
    draft = EventFactory.create(status="draft")
    assert anonymous.get(f"/events/{draft.pk}/seats").status_code == 404
    response = anonymous.get("/events/0b7f2c4e-1111-4a4a-9999-000000000000/seats")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.django_db
def test_register_by_seat_ids_then_pay_returns_seat_labels(as_attendee: Api) -> None:
    event, _ = seated_event(BLOCK)
    chosen = [seat(event, "Balcony A-3"), seat(event, "Balcony A-4")]

    response = register(as_attendee, event, {"seat_ids": [str(s.pk) for s in chosen]})
    assert response.status_code == 201, response.content
    assert sorted(response.json()["seat_ids"]) == sorted(str(s.pk) for s in chosen)
    assert response.json()["total"] == "80.00"

    paid = as_attendee.post(f"/orders/{response.json()['order_id']}/pay", {"idempotency_key": "p"})
    assert paid.status_code == 200, paid.content
    assert sorted(paid.json()["seat_labels"]) == ["Balcony A-3", "Balcony A-4"]


@pytest.mark.django_db
def test_register_best_available_holds_adjacent_seats(as_attendee: Api) -> None:
    event, tiers = seated_event(BLOCK)

    response = register(
        as_attendee, event, {"best_available": {"tier_id": str(tiers["A"].pk), "quantity": 2}}
    )

    assert response.status_code == 201, response.content
    seats = EventSeat.objects.filter(pk__in=response.json()["seat_ids"])
    assert {(s.row, s.number) for s in seats} in (
        {("A", "1"), ("A", "2")},
        {("A", "3"), ("A", "4")},
    )


@pytest.mark.django_db
def test_a_taken_seat_is_409_seat_taken_naming_it(as_attendee: Api) -> None:
    event, _ = seated_event(BLOCK)
    a1, a2 = seat(event, "Balcony A-1"), seat(event, "Balcony A-2")
    order_reserve_seats(
        buyer=UserFactory.create(), event_id=event.pk, seat_ids=[a2.pk], idempotency_key="z"
    )

    response = register(as_attendee, event, {"seat_ids": [str(a1.pk), str(a2.pk)]})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "SEAT_TAKEN"
    assert error["details"]["taken"] == [{"id": str(a2.pk), "label": "Balcony A-2"}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"seat_ids": []},
        {"seat_ids": ["nope"]},
        {"seat_ids": [None]},
        {"best_available": {"tier_id": "nope", "quantity": 2}},
        {"best_available": {"quantity": 2}},
        {"best_available": {"tier_id": "0b7f2c4e-1111-4a4a-9999-000000000000", "quantity": 0}},
        {"tier_id": "0b7f2c4e-1111-4a4a-9999-000000000000", "quantity": 1, "seat_ids": []},
        {"quantity": 1, "best_available": {"tier_id": "x", "quantity": 1}},
    ],
)
def test_malformed_seat_requests_are_422_and_store_nothing(as_attendee: Api, body: Any) -> None:
    event, _ = seated_event(BLOCK)

    response = register(as_attendee, event, body)

    assert response.status_code == 422, response.content
    assert "code" in response.json()["error"]
    assert not EventSeat.objects.filter(event=event, order__isnull=False).exists()


@pytest.mark.django_db
def test_an_unknown_seat_id_is_422_unknown_seat(as_attendee: Api) -> None:
    event, _ = seated_event(BLOCK)
    response = register(as_attendee, event, {"seat_ids": ["0b7f2c4e-1111-4a4a-9999-000000000000"]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "UNKNOWN_SEAT"
