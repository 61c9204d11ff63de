"""Attendee questions end to end: the organizer asks, the buyer answers at checkout on a phone,
the organizer reads the answers in the attendee table and sends the tickets again."""

import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Membership
from events.models import AttendeeQuestion
from notifications.models import Delivery, Message, Topic
from tests.e2e.a11y import axe_violations
from tests.e2e.conftest import log_in, record_errors
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, UserFactory
from ticketing.booking.services import order_reserve
from ticketing.models import Order, Ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_questions_are_asked_at_checkout_and_answers_reach_the_attendee_table(
    browser: Browser, live_server: LiveServer
) -> None:
    organizer = MembershipFactory.create(role=Membership.Role.OWNER).user
    event = EventFactory.create(organization=organizer.organizations.get(), title="Harbour Jazz")
    tier = TicketTierFactory.create(event=event, name="Standing", price=Decimal("30.00"))

    desk = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    desk.set_default_timeout(10_000)
    log_in(desk, live_server, organizer)
    manage = desk.new_page()
    manage_errors = record_errors(manage)
    manage.goto(f"/manage/events/{event.pk}/questions/")
    manage.get_by_label("Question", exact=True).fill("Meal")
    manage.get_by_label("Answer", exact=True).select_option("choice")
    manage.get_by_label("Options").fill("Vegetarian\nVegan\nAnything")
    manage.get_by_label("An answer is required").check()
    manage.get_by_role("button", name="Add question").click()
    manage.get_by_text("Added “Meal”.").wait_for()
    manage.get_by_label("Question", exact=True).fill("Wheelchair space")
    manage.get_by_label("Answer", exact=True).select_option("yes_no")
    manage.get_by_role("button", name="Add question").click()
    manage.get_by_text("Added “Wheelchair space”.").wait_for()
    assert axe_violations(manage) == []
    assert list(AttendeeQuestion.objects.filter(event=event).values_list("label", "required")) == [
        ("Meal", True),
        ("Wheelchair space", False),
    ]

    buyer = UserFactory.create(full_name="Pia Buyer")
    order = order_reserve(
        buyer=buyer, event_id=event.pk, items=[(tier.pk, 2)], idempotency_key=uuid.uuid4().hex
    )
    phone = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    phone.set_default_timeout(10_000)
    log_in(phone, live_server, buyer)
    checkout = phone.new_page()
    checkout_errors = record_errors(checkout)
    checkout.goto(f"/orders/{order.pk}/")
    checkout.get_by_label("Ticket 2 · Standing: name of the attendee").fill("Ola Guest")
    checkout.locator("select[name^='answer_0_']").select_option("Vegan")
    checkout.get_by_role("button", name="Pay 60.00 EUR").click()
    # The second ticket's meal is missing: the form says so, next to the question.
    expect(checkout.locator(".field-error").first).to_contain_text("“Meal” needs an answer.")
    assert Order.objects.get(pk=order.pk).status == "pending"
    assert axe_violations(checkout) == []
    checkout.locator("select[name^='answer_1_']").select_option("Vegetarian")
    checkout.locator("fieldset.question").nth(1).get_by_label("Yes").check()
    checkout.get_by_role("button", name="Pay 60.00 EUR").click()
    expect(checkout.get_by_role("status")).to_contain_text("Paid.")
    answers = {t.attendee_name: t.answers for t in Ticket.objects.filter(order=order)}
    meal = AttendeeQuestion.objects.get(label="Meal")
    access = AttendeeQuestion.objects.get(label="Wheelchair space")
    assert answers == {
        "Pia Buyer": {str(meal.pk): "Vegan"},
        "Ola Guest": {str(meal.pk): "Vegetarian", str(access.pk): "yes"},
    }

    manage.goto(f"/manage/events/{event.pk}/attendees/?q=ola")
    header = manage.locator("table.attendee-table thead")
    expect(header).to_contain_text("Meal")
    row = manage.locator("table.attendee-table tbody tr").first
    expect(row).to_contain_text("Vegetarian")
    expect(row).to_contain_text("yes")
    assert axe_violations(manage) == []
    manage.get_by_label("Select Ola Guest").check()
    manage.get_by_label("With").select_option("resend")
    manage.get_by_role("button", name="Apply").click()
    manage.get_by_text("1 tickets on their way to their holders again.").wait_for()
    assert Message.objects.filter(topic=Topic.TICKETS_RESENT, user=buyer).count() == 1
    assert not Delivery.objects.filter(channel="webhook").exists()
    desk.close()
    phone.close()
    assert not manage_errors, manage_errors
    assert not checkout_errors, checkout_errors
