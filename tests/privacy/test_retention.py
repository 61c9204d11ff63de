"""Retention: attendee data of events that ended longer ago than the organization keeps it is
anonymized by the beat job, once per event, and the owner reads what it did."""

import json
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry, Membership, User
from events.models import Event
from privacy.models import AnonymizedEvent, RetentionRun
from privacy.retention import ANONYMIZED_NAME, retention_apply, retention_policy_set
from privacy.tasks import retention_apply as retention_task
from tests.factories import (
    EventFactory,
    MembershipFactory,
    TicketTierFactory,
    UserFactory,
    order_paid,
)
from ticketing.aftersale.transfers import ticket_transfer_send
from ticketing.models import Order, Ticket, Transfer
from ticketing.selectors import event_revenue_net


def _ended(event: Event, days_ago: int) -> None:
    end = timezone.now() - timedelta(days=days_ago)
    Event.objects.filter(pk=event.pk).update(starts_at=end - timedelta(hours=3), ends_at=end)


@pytest.fixture
def owner(db: None) -> User:
    return MembershipFactory.create(role=Membership.Role.OWNER).user


def _event_with_attendees(owner: User, title: str) -> Event:
    event = EventFactory.create(organization=owner.organizations.get(), title=title)
    tier = TicketTierFactory.create(event=event)
    buyer = UserFactory.create(full_name="Grace Hopper")
    ticket = order_paid(buyer=buyer, tier=tier, quantity=2).tickets[0]
    Order.objects.filter(buyer=buyer).update(attendee_names=["Grace Hopper", "Alan Turing"])
    ticket_transfer_send(sender=buyer, ticket_id=ticket.pk, to_email="friend@example.org")
    return event


def test_events_past_the_period_are_anonymized_once_and_others_are_left(owner: User) -> None:
    retention_policy_set(actor=owner, organization=owner.organizations.get(), days=30)
    old = _event_with_attendees(owner, "Old Show")
    recent = _event_with_attendees(owner, "Recent Show")
    _ended(old, days_ago=31)
    _ended(recent, days_ago=29)
    revenue = event_revenue_net(old.pk)

    [run] = retention_apply()

    assert (run.event_count, run.tickets, run.orders, run.transfers) == (1, 2, 1, 1)
    assert set(Ticket.objects.filter(event=old).values_list("attendee_name", flat=True)) == {
        ANONYMIZED_NAME
    }
    assert Order.objects.get(event=old).attendee_names == []
    assert Transfer.objects.get(ticket__event=old).to_email.endswith("@erased.invalid")
    # The recent event is untouched; the old one's money is too.
    assert "Grace Hopper" in Ticket.objects.filter(event=recent).values_list(
        "attendee_name", flat=True
    )
    assert Transfer.objects.get(ticket__event=recent).to_email == "friend@example.org"
    assert event_revenue_net(old.pk) == revenue
    assert AuditEntry.objects.filter(action="privacy.retention_run", target_id=str(run.pk)).exists()

    assert retention_apply() == []  # once per event
    assert AnonymizedEvent.objects.count() == 1


def test_an_organization_without_a_policy_keeps_the_default_period(owner: User, settings) -> None:
    settings.PRIVACY_DEFAULT_RETENTION_DAYS = 365
    event = _event_with_attendees(owner, "Last Year")
    _ended(event, days_ago=200)
    assert retention_apply() == []
    _ended(event, days_ago=400)
    assert [r.event_count for r in retention_apply()] == [1]


def test_the_beat_task_and_the_command_report_what_they_did(owner: User, caplog) -> None:
    retention_policy_set(actor=owner, organization=owner.organizations.get(), days=7)
    _ended(_event_with_attendees(owner, "One"), days_ago=8)
    with caplog.at_level(logging.INFO, logger="privacy.retention"):
        retention_task.delay()
    [record] = [r for r in caplog.records if "Retention anonymized" in r.getMessage()]
    assert (record.events, record.tickets) == (1, 2)

    _ended(_event_with_attendees(owner, "Two"), days_ago=9)
    out = StringIO()
    call_command("retention_apply", stdout=out)
    report = json.loads(out.getvalue())
    assert [r["events"] for r in report["runs"]] == [1]


def test_the_owner_sets_the_period_and_reads_the_runs_and_nobody_else_can(owner: User) -> None:
    organization = owner.organizations.get()
    client = Client()
    client.force_login(owner)
    url = f"/account/organizations/{organization.pk}/privacy"

    assert client.post(url, {"days": "0"}).status_code == 422
    assert client.post(url, {"days": "14"}).status_code == 302
    _ended(_event_with_attendees(owner, "Gone"), days_ago=15)
    retention_apply()
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="14"' in page.content.decode()
    assert RetentionRun.objects.get().tickets == 2
    assert "<td>2</td>" in page.content.decode()

    manager = MembershipFactory.create(organization=organization, role=Membership.Role.MANAGER).user
    other = Client()
    other.force_login(manager)
    assert other.get(url).status_code == 404
