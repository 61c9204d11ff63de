"""The world the permission matrix runs in: two organizations with real events, orders, tickets,
check-in lists, webhooks and notifications, and one person for each role the matrix asks about.

Path parameters of every route are filled from `World.values` with ids of the first
organization ("A"); the people of the second organization ("B") are the outsiders.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from django.test import TestCase

from accounts.models import Membership, Organization, User
from checkin.models import SigningKey
from checkin.services import checkin_list_default, device_link_create, signing_key_rotate
from events.models import AgendaFeed, Event, Feedback, Room, Session, TicketTier, Venue
from invoicing.services import invoice_issue
from notifications.models import Audience, Message, Notification, Topic, WebhookEndpoint
from notifications.preferences import unsubscribe_token
from notifications.ticket_links import ticket_qr_url
from tests.factories import (
    EventFactory,
    MembershipFactory,
    OrganizationFactory,
    TicketTierFactory,
    UserFactory,
    VenueFactory,
    order_paid,
)
from ticketing.aftersale.transfers import ticket_transfer_send
from ticketing.models import Ticket
from ticketing.seating.services import SeatBlock, seat_map_create
from waitlist.services import waitlist_join


def _user(**fields: Any) -> User:
    return UserFactory(**fields)


def _member(**fields: Any) -> User:
    return MembershipFactory(**fields).user


def _organization() -> Organization:
    return OrganizationFactory()


def _venue(**fields: Any) -> Venue:
    return VenueFactory(**fields)


def _event(**fields: Any) -> Event:
    return EventFactory(**fields)


def _tier(**fields: Any) -> TicketTier:
    return TicketTierFactory(**fields)


ROLES = ("anonymous", "attendee", "door_other", "manager", "owner_other", "owner", "admin")


@dataclass
class World:
    people: dict[str, User | None] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def world_build() -> World:
    """Build the world through the services (on-commit work runs, as after a real commit)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return _build()


def _build() -> World:
    owner = _member(role=Membership.Role.OWNER)
    organization = owner.organizations.get()
    manager = _member(organization=organization, role=Membership.Role.MANAGER)
    _member(organization=organization, role=Membership.Role.DOOR)

    other_organization = _organization()
    owner_other = _member(organization=other_organization, role=Membership.Role.OWNER)
    door_other = _member(organization=other_organization, role=Membership.Role.DOOR)

    admin = _user(is_staff=True, is_superuser=True)
    # Admins must have a second factor before the admin opens (RequireMfaMiddleware).
    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={"secret": "x"})

    attendee = _user()

    venue = _venue(organization=organization)
    event = _event(organization=organization, venue=venue)
    # The attendee buys the last two of `sold_out`, so they can also join its waitlist.
    sold_out = _tier(event=event, capacity=2)
    tier = _tier(event=event)
    other_event = _event(organization=other_organization)
    _tier(event=other_event)

    order = order_paid(buyer=attendee, tier=sold_out, quantity=2).order
    entry = waitlist_join(user=attendee, event=event, tier_id=sold_out.pk)
    document = invoice_issue(order_id=order.pk)
    seat_map = seat_map_create(
        user=owner,
        venue=venue,
        name="Main floor",
        blocks=[SeatBlock(section="Stalls", rows=1, seats_per_row=4, zone="A")],
    )
    tickets = list(Ticket.objects.filter(order=order).order_by("pk"))

    room = Room.objects.create(venue=venue, name="Hall 1")
    session = Session.objects.create(
        event=event,
        room=room,
        title="Opening",
        starts_at=event.starts_at,
        ends_at=event.starts_at + timedelta(hours=1),
    )
    feedback = Feedback.objects.create(event=event, author=attendee, rating=4, comment="Good")
    feed = AgendaFeed.objects.create(user=attendee, token="matrix-feed-token")

    checkin_list = checkin_list_default(event=event)
    link, link_token = device_link_create(checkin_list=checkin_list, actor=owner, label="Gate 1")
    signing_key_rotate(event=event, actor=owner)
    key = SigningKey.objects.filter(event=event).order_by("-pk").first()

    webhook = WebhookEndpoint.objects.create(
        organization=organization,
        url="https://hooks.example.com/boxoffice",
        topics=["order.confirmed"],
    )
    message = Message.objects.create(
        topic=Topic.ORDER_CONFIRMED,
        audience=Audience.USER,
        dedupe_key="matrix-order-confirmed",
        user=attendee,
        event=event,
    )
    notification = Notification.objects.create(
        user=attendee, message=message, title="Your tickets", body="See you there."
    )

    transfer = ticket_transfer_send(sender=attendee, ticket_id=tickets[1].pk, to_email="x@e.com")

    people: dict[str, User | None] = {
        "anonymous": None,
        "attendee": attendee,
        "door_other": door_other,
        "manager": manager,
        "owner_other": owner_other,
        "owner": owner,
        "admin": admin,
    }
    values: dict[str, Any] = {
        "event_id": event.pk,
        "slug": event.slug,
        "order_id": order.pk,
        "ticket_id": tickets[0].pk,
        "session_id": session.pk,
        "venue_id": venue.pk,
        "organization_id": organization.pk,
        "feedback_id": feedback.pk,
        "endpoint_id": webhook.pk,
        "list_id": checkin_list.pk,
        "link_id": link.pk,
        "kid": getattr(key, "kid", "unknown"),
        "notification_id": notification.pk,
        "entry_id": entry.pk,
        "document_id": getattr(document, "pk", "00000000-0000-0000-0000-000000000000"),
        "seat_map_id": seat_map.pk,
        "app_label": "events",
        "language": "de",
        "url": "no-such-page/",
        "door_link_token": link_token,
        "agenda_feed_token": feed.token,
        "unsubscribe_token": unsubscribe_token(attendee, "marketing"),
        "ticket_qr_token": ticket_qr_url(tickets[0])
        .rstrip("/")
        .split("/")[-1]
        .removesuffix(".png"),
        "transfer_id": transfer.pk,
        "tier_id": tier.pk,
        "sold_out_tier_id": sold_out.pk,
        "starts_at": (event.starts_at + timedelta(days=30)).isoformat(),
        "ends_at": (event.starts_at + timedelta(days=30, hours=2)).isoformat(),
        # Parameters without a row behind them: the route answers "no such thing" to everyone.
        "token": "no-such-token",
        "provider_id": "no-such-provider",
        "export_id": "00000000-0000-0000-0000-000000000000",
        "token_id": 999999,
        "action": "disable",
        "key": "no-such-key",
        "uidb36": "zz",
        "pk": 999999,
        "path": "no-such-file.png",
    }
    return World(people=people, values=values)
