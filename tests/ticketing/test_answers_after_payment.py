"""Buyers change their attendees' answers after paying (order page and API), until the
deadline the organizer sets; every change is audited."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, User
from core.errors import NotFound
from events.errors import AnswerInvalid, AnswerRequired, AnswersLocked
from events.models import AttendeeQuestion, Event, TicketTier
from tests.api.conftest import login
from tests.factories import UserFactory, order_paid, order_reserved
from ticketing.aftersale.answers import order_answers_change
from ticketing.errors import OrderNotPaid
from ticketing.models import Ticket


@pytest.fixture
def meal(event: Event) -> AttendeeQuestion:
    return AttendeeQuestion.objects.create(
        event=event, label="Meal", kind="choice", options=["Vegan", "Any"], required=True
    )


@pytest.fixture
def shirt(event: Event) -> AttendeeQuestion:
    return AttendeeQuestion.objects.create(event=event, label="T-shirt size", kind="text")


def _paid_ticket(attendee: User, tier: TicketTier, meal: AttendeeQuestion) -> Ticket:
    outcome = order_paid(buyer=attendee, tier=tier)
    ticket = outcome.tickets[0]
    Ticket.objects.filter(pk=ticket.pk).update(answers={str(meal.pk): "Any"})
    return Ticket.objects.get(pk=ticket.pk)


def _close_answers(event: Event) -> None:
    Event.objects.filter(pk=event.pk).update(
        answers_editable_until=timezone.now() - timedelta(minutes=1)
    )


def test_buyer_changes_an_answer_before_the_deadline_and_it_is_audited(
    attendee: User, tier: TicketTier, meal: AttendeeQuestion, shirt: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    order_answers_change(
        buyer=attendee,
        order_id=ticket.order_id,
        answers={str(ticket.pk): {str(meal.pk): "Vegan", str(shirt.pk): " XL "}},
    )
    ticket.refresh_from_db()
    assert ticket.answers == {str(meal.pk): "Vegan", str(shirt.pk): "XL"}
    entry = AuditEntry.objects.get(action="order.answers_changed")
    assert entry.actor == attendee
    assert entry.target_id == str(ticket.order_id)
    assert entry.changes == {
        ticket.ref: {str(meal.pk): ["Any", "Vegan"], str(shirt.pk): ["", "XL"]}
    }


def test_an_unchanged_submission_writes_no_audit_entry(
    attendee: User, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    order_answers_change(
        buyer=attendee, order_id=ticket.order_id, answers={str(ticket.pk): {str(meal.pk): "Any"}}
    )
    assert not AuditEntry.objects.filter(action="order.answers_changed").exists()


def test_after_the_deadline_the_answers_are_locked(
    attendee: User, event: Event, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    _close_answers(event)
    with pytest.raises(AnswersLocked):
        order_answers_change(
            buyer=attendee,
            order_id=ticket.order_id,
            answers={str(ticket.pk): {str(meal.pk): "Vegan"}},
        )
    ticket.refresh_from_db()
    assert ticket.answers == {str(meal.pk): "Any"}


def test_without_a_deadline_answers_lock_when_the_event_starts(
    attendee: User, event: Event, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(minutes=1), ends_at=timezone.now() + timedelta(hours=2)
    )
    with pytest.raises(AnswersLocked):
        order_answers_change(
            buyer=attendee,
            order_id=ticket.order_id,
            answers={str(ticket.pk): {str(meal.pk): "Vegan"}},
        )


def test_answers_are_held_to_the_checkout_rules(
    attendee: User, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    with pytest.raises(AnswerRequired):
        order_answers_change(buyer=attendee, order_id=ticket.order_id, answers={str(ticket.pk): {}})
    with pytest.raises(AnswerInvalid):
        order_answers_change(
            buyer=attendee,
            order_id=ticket.order_id,
            answers={str(ticket.pk): {str(meal.pk): "Fish"}},
        )


def test_an_answer_to_a_removed_question_stays(
    attendee: User, event: Event, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    Ticket.objects.filter(pk=ticket.pk).update(answers={str(meal.pk): "Any", "gone": "kept"})
    order_answers_change(
        buyer=attendee, order_id=ticket.order_id, answers={str(ticket.pk): {str(meal.pk): "Vegan"}}
    )
    ticket.refresh_from_db()
    assert ticket.answers == {str(meal.pk): "Vegan", "gone": "kept"}


def test_only_the_buyer_of_a_paid_order_changes_its_valid_tickets(
    attendee: User, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    with pytest.raises(NotFound):
        order_answers_change(
            buyer=UserFactory.create(),
            order_id=ticket.order_id,
            answers={str(ticket.pk): {str(meal.pk): "Vegan"}},
        )
    other = _paid_ticket(attendee, tier, meal)  # a ticket of another order of the same buyer
    with pytest.raises(NotFound):
        order_answers_change(
            buyer=attendee,
            order_id=ticket.order_id,
            answers={str(other.pk): {str(meal.pk): "Vegan"}},
        )
    pending = order_reserved(buyer=attendee, tier=tier)
    with pytest.raises(OrderNotPaid):
        order_answers_change(buyer=attendee, order_id=pending.pk, answers={})


def test_order_page_form_saves_answers(
    client: Client, attendee: User, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    client.force_login(attendee)
    page = client.get(f"/orders/{ticket.order_id}/")
    assert page.status_code == 200
    field = f"answer_{ticket.pk.hex}_{meal.pk.hex}"
    assert f'name="{field}"' in page.content.decode()
    response = client.post(f"/orders/{ticket.order_id}/", {"save_answers": "1", field: "Vegan"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.answers == {str(meal.pk): "Vegan"}


def test_order_page_refuses_a_change_after_the_deadline_with_a_form_error(
    client: Client, attendee: User, event: Event, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    client.force_login(attendee)
    field = f"answer_{ticket.pk.hex}_{meal.pk.hex}"
    _close_answers(event)
    assert f'name="{field}"' not in client.get(f"/orders/{ticket.order_id}/").content.decode()
    response = client.post(f"/orders/{ticket.order_id}/", {"save_answers": "1", field: "Vegan"})
    assert response.status_code == 409
    assert "could be changed until" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.answers == {str(meal.pk): "Any"}


def test_order_page_shows_an_invalid_answer_as_a_field_error(
    client: Client, attendee: User, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    client.force_login(attendee)
    field = f"answer_{ticket.pk.hex}_{meal.pk.hex}"
    response = client.post(f"/orders/{ticket.order_id}/", {"save_answers": "1", field: ""})
    assert response.status_code == 422
    assert "“Meal” needs an answer." in response.content.decode()


def _put_answers(client: Client, token: str, order_id: object, body: object) -> object:
    return client.put(
        f"/api/v1/orders/{order_id}/answers",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_api_changes_answers_and_refuses_after_the_deadline(
    client: Client, attendee: User, event: Event, tier: TicketTier, meal: AttendeeQuestion
) -> None:
    ticket = _paid_ticket(attendee, tier, meal)
    token = login(client, attendee).token
    assert token
    body = {"tickets": [{"ticket_id": str(ticket.pk), "answers": {str(meal.pk): "Vegan"}}]}
    response = _put_answers(client, token, ticket.order_id, body)
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]
    data = response.json()  # type: ignore[attr-defined]
    assert data["tickets"] == [{"ticket_id": str(ticket.pk), "answers": {str(meal.pk): "Vegan"}}]
    invalid = {"tickets": [{"ticket_id": str(ticket.pk), "answers": {str(meal.pk): "Fish"}}]}
    refused = _put_answers(client, token, ticket.order_id, invalid)
    assert refused.json()["error"]["code"] == "ANSWER_INVALID"  # type: ignore[attr-defined]
    _close_answers(event)
    locked = _put_answers(client, token, ticket.order_id, body)
    assert locked.status_code == 409  # type: ignore[attr-defined]
    assert locked.json()["error"]["code"] == "ANSWERS_LOCKED"  # type: ignore[attr-defined]


def test_organizer_sets_the_answer_deadline_on_the_questions_page(
    client: Client, organizer: User, event: Event
) -> None:
    client.force_login(organizer)
    Event.objects.filter(pk=event.pk).update(time_zone="Europe/Berlin")
    response = client.post(
        f"/manage/events/{event.pk}/questions/",
        {"action": "deadline", "until": "2030-01-15T18:00"},
    )
    assert response.status_code == 302
    event.refresh_from_db()
    # 18:00 on the event's clock (Berlin, winter: UTC+1).
    assert event.answers_editable_until == datetime(2030, 1, 15, 17, 0, tzinfo=UTC)
    assert AuditEntry.objects.filter(action="event.answers_deadline_set").count() == 1
    page = client.get(f"/manage/events/{event.pk}/questions/")
    assert 'value="2030-01-15T18:00"' in page.content.decode()
