"""Erasing an account: personal data replaced by a pseudonym, legally required records kept.

What stays (amounts, dates, orders, payments, refunds, invoices, the audit trail) keeps its
numbers and its links to the now pseudonymous account, so an organizer's revenue reads the
same before and after. What goes: the address, names, phone, sign-in methods, sessions, tokens,
consents, exports, in-app notifications and free text the person wrote.

Tickets for events still to come are first offered to the event's own refund rules
(`ticketing.aftersale.refunds.order_refund`, as the buyer would ask): refunded where the rules
allow it, kept (still valid) where they do not. The person is told which, on the page and by
one last mail whose address waits sealed in the outbox.
"""

import secrets
from dataclasses import asdict, dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiToken, Membership, User
from accounts.services import audit_record
from core.errors import DomainError
from core.money import format_money
from core.timefmt import local_time
from events.models import AgendaFeed, Event, Feedback
from invoicing.models import Document
from notifications.models import (
    Channel,
    Delivery,
    MarketingConsent,
    Message,
    Notification,
    Preference,
)
from notifications.services import account_erased_record
from privacy.errors import OwnerCannotErase
from privacy.models import DataExport
from ticketing.aftersale.refunds import order_refund
from ticketing.models import Order, Ticket, Transfer
from waitlist.models import WaitlistEntry
from waitlist.services import waitlist_leave

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never delivers anywhere
ERASED_NAME = "Erased user"


@dataclass(frozen=True)
class TicketOutcome:
    event: str
    starts: str
    tickets: int
    result: str  # "refunded" or "kept"
    amount: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Erasure:
    pseudonym: str
    outcomes: list[TicketOutcome]


def pseudonym_for(user: User) -> str:
    return f"erased-{user.pk}-{secrets.token_hex(4)}@{ERASED_DOMAIN}"


def _future_orders(user: User) -> list[Order]:
    """Paid orders of `user` for events still to come, with tickets of theirs still valid."""
    return list(
        Order.objects.filter(
            buyer=user,
            status=Order.Status.PAID,
            event__starts_at__gt=timezone.now(),
            tickets__status=Ticket.Status.VALID,
            tickets__holder=user,
        )
        .exclude(event__status=Event.Status.CANCELLED)
        .select_related("event")
        .distinct()
        .order_by("event__starts_at", "pk")
    )


def _settle_future_tickets(user: User) -> list[TicketOutcome]:
    """Each future order refunded by the event's rules, or kept when they do not allow it."""
    outcomes = []
    for order in _future_orders(user):
        event = order.event
        valid = order.tickets.filter(status=Ticket.Status.VALID, holder=user).count()
        starts = local_time(event.starts_at, event)
        try:
            # The buyer's own request (the event's refund policy applies), one key per order:
            # an erasure run again finds the same refund instead of asking for a second one.
            refund = order_refund(
                actor=user, order_id=order.pk, idempotency_key=f"erasure-{order.pk}"
            )
        except DomainError as exc:
            outcomes.append(
                TicketOutcome(event.title, starts, valid, "kept", reason=exc.detail_message)
            )
            continue
        outcomes.append(
            TicketOutcome(
                event.title,
                starts,
                refund.lines.count(),
                "refunded",
                amount=format_money(refund.amount, refund.currency),
            )
        )
    # Tickets others sent them: not theirs to refund (the money was the sender's); kept.
    received = (
        Ticket.objects.filter(
            holder=user, status=Ticket.Status.VALID, event__starts_at__gt=timezone.now()
        )
        .exclude(order__buyer=user)
        .select_related("event")
    )
    for ticket in received:
        outcomes.append(
            TicketOutcome(
                ticket.event.title,
                local_time(ticket.event.starts_at, ticket.event),
                1,
                "kept",
                reason="a ticket someone sent you",
            )
        )
    return outcomes


def _replace_in_text_column(table: str, column: str, old: str, new: str, *, json: bool) -> int:
    """Replace `old` by `new` wherever a text (or jsonb) column holds it; rows changed."""
    quote = connection.ops.quote_name
    value = f"{quote(column)}::text" if json else quote(column)
    replaced = f"replace({value}, %s, %s)" + ("::jsonb" if json else "")
    sql = (
        f"UPDATE {quote(table)} SET {quote(column)} = {replaced}"  # noqa: S608 - names from model metadata, quoted
        f" WHERE strpos({value}, %s) > 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [old, new, old])
        return cursor.rowcount


def _scrub_copies(email: str, pseudonym: str) -> None:
    """Copies of the address that other rows took (outbox payloads, frozen invoices, the admin
    log's object names) now read the pseudonym."""
    for model, field, is_json in (
        (Message, "data", True),
        (Document, "data", True),
        (LogEntry, "object_repr", False),
        (LogEntry, "change_message", False),
        (Notification, "title", False),
        (Notification, "body", False),
        (Transfer, "to_email", False),
    ):
        meta = model._meta
        column = str(meta.get_field(field).column)  # type: ignore[union-attr]  # a concrete field
        _replace_in_text_column(meta.db_table, column, email, pseudonym, json=is_json)


@transaction.atomic(durable=True)
def _pseudonymize(*, user: User, outcomes: list[TicketOutcome], ip: str | None) -> str:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.email.endswith("@" + ERASED_DOMAIN):  # erased already (a second click)
        return user.email
    email, pseudonym = user.email, pseudonym_for(user)
    erasure_id = pseudonym.split("@")[0]

    user.email, user.full_name, user.first_name, user.last_name = pseudonym, ERASED_NAME, "", ""
    user.is_active = False
    user.set_unusable_password()
    user.save()

    session_keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=session_keys).delete()
    UserSession.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    ApiToken.objects.filter(user=user).delete()
    Membership.objects.filter(user=user).delete()
    MarketingConsent.objects.filter(user=user).delete()
    Preference.objects.filter(user=user).delete()
    Notification.objects.filter(user=user).delete()
    DataExport.objects.filter(user=user).delete()
    AgendaFeed.objects.filter(user=user).delete()
    # Out of every line they wait in (an offer to an erased account would hold a seat for
    # nobody); entries with offers settle as any offer does.
    waiting = WaitlistEntry.objects.filter(user=user, status=WaitlistEntry.Status.WAITING)
    for entry_id in waiting.values_list("pk", flat=True):
        waitlist_leave(user=user, entry_id=entry_id)
    # Their rating still counts for the event; the words were theirs.
    Feedback.objects.filter(author=user).update(comment="")

    # Names printed on their tickets and orders; the tickets themselves stay.
    Ticket.objects.filter(Q(holder=user) | Q(order__buyer=user)).exclude(attendee_name="").update(
        attendee_name=ERASED_NAME
    )
    Order.objects.filter(buyer=user).exclude(attendee_names=[]).update(attendee_names=[])
    # Mail to them as a person, and mail to their address before it had an account (a ticket
    # sent to it).
    Delivery.objects.filter(
        Q(user=user) | Q(recipient__iexact=email), channel=Channel.EMAIL
    ).update(recipient=pseudonym)
    Delivery.objects.filter(user=user, channel=Channel.SMS).update(recipient="")
    _scrub_copies(email, pseudonym)

    audit_record(
        actor=user,
        action="account.erase",
        target=user,
        changes={
            "refunded_orders": sum(1 for o in outcomes if o.result == "refunded"),
            "kept": sum(1 for o in outcomes if o.result == "kept"),
        },
        ip=ip,
    )
    account_erased_record(
        erasure_id=erasure_id, email=email, outcomes=[asdict(o) for o in outcomes]
    )
    return pseudonym


def account_erase(*, user: User, ip: str | None = None) -> Erasure:
    """Erase `user`'s account: future tickets refunded or kept by each event's rules first,
    then every personal field replaced by a pseudonym. Safe to call again."""
    if Membership.objects.filter(user=user, role=Membership.Role.OWNER).exists():
        raise OwnerCannotErase()
    # Refunds are sagas with their own transactions (and a processor call): they run first,
    # and an erasure interrupted after them finds the same refunds by key when run again.
    outcomes = _settle_future_tickets(user)
    pseudonym = _pseudonymize(user=user, outcomes=outcomes, ip=ip)
    return Erasure(pseudonym=pseudonym, outcomes=outcomes)
