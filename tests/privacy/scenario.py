"""A buyer with a history that leaves their address in many tables, built through the services."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import Membership, User
from events.feedback import feedback_submit
from events.models import Event
from notifications.preferences import marketing_consent_set, preference_update
from tests.factories import (
    PASSWORD,
    EventFactory,
    MembershipFactory,
    TicketTierFactory,
    UserFactory,
    order_paid,
)
from ticketing.aftersale.transfers import ticket_transfer_send
from ticketing.models import EventPolicy


@dataclass
class Buyer:
    user: User
    email: str
    organizer: User
    past: Event
    refundable: Event
    no_refunds: Event


def text_columns() -> list[tuple[str, str]]:
    """Every text, varchar, json(b) and array column of every table in the schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
              AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb',
                                   'ARRAY', 'USER-DEFINED')
                   OR c.udt_name IN ('citext'))
            ORDER BY 1, 2
            """
        )
        return [(table, column) for table, column in cursor.fetchall()]


def where_text_appears(needle: str) -> list[str]:
    """`table.column` of every text column holding `needle` (case-insensitive)."""
    found = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(
                f"SELECT count(*) FROM {quote(table)}"  # noqa: S608 - names from the catalog, quoted
                f" WHERE strpos(lower({quote(column)}::text), lower(%s)) > 0",
                [needle],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def buyer_with_history() -> Buyer:
    """Paid orders for a past event and two future ones (one refundable, one not), a ticket
    sent to them, feedback, preferences, consent, sign-ins, an admin edit, mails sent."""
    organizer = MembershipFactory.create(role=Membership.Role.OWNER).user
    organization = organizer.organizations.get()
    user: User = UserFactory.create(
        email="Ada.Lovelace+gigs@Example.org".lower(), full_name="Ada Lovelace"
    )
    email = user.email

    past = EventFactory.create(organization=organization, title="Last Winter")
    refundable = EventFactory.create(organization=organization, title="Spring Gala")
    no_refunds = EventFactory.create(organization=organization, title="Summer Festival")
    EventPolicy.objects.create(event=no_refunds, refunds_allowed=False)
    for event in (past, refundable, no_refunds):
        tier = TicketTierFactory.create(event=event, price=Decimal("40.00"))
        order_paid(buyer=user, tier=tier, quantity=2)

    # A friend sends them a ticket (the transfer row and its mail carry their address).
    friend: User = UserFactory.create()
    friend_ticket = order_paid(buyer=friend, tier=refundable.tiers.get()).tickets[0]
    ticket_transfer_send(sender=friend, ticket_id=friend_ticket.pk, to_email=email)

    # The past event ended last month; they left feedback mentioning themselves.
    Event.objects.filter(pk=past.pk).update(
        starts_at=timezone.now() - timedelta(days=30),
        ends_at=timezone.now() - timedelta(days=30) + timedelta(hours=3),
    )
    past.refresh_from_db()
    feedback_submit(author=user, event=past, rating=5, comment=f"Great! Write me at {email}")

    preference_update(user=user, phone="+4915123456789", reminder_email=True)
    marketing_consent_set(user=user, given=True, source="settings_page")

    client = Client()
    client.post("/accounts/login/", {"login": email, "password": "wrong-one"})
    client.post("/accounts/login/", {"login": email, "password": PASSWORD})

    admin: User = UserFactory.create(is_staff=True, is_superuser=True)
    # What the admin writes on a change (its __str__ is the address); the trail hears it.
    LogEntry.objects.create(
        user=admin,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
        object_repr=str(user),
        action_flag=CHANGE,
        change_message=f"Changed full name of {email}.",
    )
    return Buyer(user, email, organizer, past, refundable, no_refunds)
