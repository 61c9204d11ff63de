"""Agenda services: sessions in rooms, speakers and tracks, personal stars and iCal feed tokens.

The database guarantees one session per room at a time (exclusion constraint) and that a
session's seats never exceed its capacity (CHECK); these services are the friendly path.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.db import busy_on_lock_timeout
from core.testswitches import switch_on
from core.timefmt import local_time
from events.cache import events_changed
from events.errors import InvalidSession, RoomOccupied, SessionFull, TicketRequired
from events.models import AgendaFeed, Event, Room, Session, SessionStar, Speaker, Track
from events.search import search_refresh
from events.selectors import holds_valid_ticket
from events.signals import session_changed


@dataclass
class SessionSaved:
    session: Session
    warnings: list[str] = field(default_factory=list)


@dataclass
class StarResult:
    star: SessionStar
    clashes: list[Session] = field(default_factory=list)


def _overlapping(sessions: QuerySet[Session], starts_at: datetime, ends_at: datetime) -> Any:
    return sessions.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


def speaker_clashes(session: Session) -> list[str]:
    """Warnings for this session's speakers who are somewhere else at the same time."""
    others = (
        _overlapping(Session.objects.exclude(pk=session.pk), session.starts_at, session.ends_at)
        .filter(speakers__in=session.speakers.all())
        .select_related("room", "event")
        .prefetch_related("speakers")
        .distinct()
    )
    mine = {s.pk for s in session.speakers.all()}
    warnings = []
    for other in others:
        for speaker in other.speakers.all():
            if speaker.pk in mine:
                where = f" in {other.room.name}" if other.room else ""
                warnings.append(
                    f"{speaker.name} is also speaking at “{other.title}”{where} "
                    f"({local_time(other.starts_at, other.event, 'H:i')}"
                    f"–{local_time(other.ends_at, other.event, 'H:i')})."
                )
    return warnings


def _what_attendees_see(session: Session) -> dict[str, str]:
    """The parts of a session whose change its attendees must hear about."""
    return {
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "room": session.room.name if session.room else "",
    }


def _announce_changes(session: Session, before: dict[str, str]) -> None:
    """Inside the transaction: a listener's outbox row commits with the change, or not at all."""
    after = _what_attendees_see(session)
    changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
    if changes:
        session_changed.send(
            sender=Session,
            session_id=session.pk,
            event_id=session.event_id,
            organization_id=session.event.organization_id,
            title=session.title,
            changes=changes,
        )


@transaction.atomic(durable=True)
@busy_on_lock_timeout()
def session_save(
    *,
    actor: User,
    event: Event,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    room_name: str = "",
    track_name: str = "",
    speaker_names: list[str] | None = None,
    description: str = "",
    capacity: int | None = None,
    session_id: Any = None,
) -> SessionSaved:
    """Create or change a session; returns it with warnings (a speaker in two places at once)."""
    title = title.strip()
    if not title:
        raise InvalidSession(_("A session needs a title."))
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise InvalidSession(_("Start and end need a time zone."))
    if ends_at <= starts_at:
        raise InvalidSession(_("A session must end after it starts."))
    if starts_at < event.starts_at or ends_at > event.ends_at:
        raise InvalidSession(_("A session must lie within the event's start and end."))
    if capacity is not None and capacity < 0:
        raise InvalidSession(_("Capacity cannot be negative."))
    if session_id:
        session = (
            Session.objects.select_for_update(of=("self",))
            .filter(event=event, pk=session_id)
            .first()
        )
        if session is None:
            raise InvalidSession(_("Unknown session."))
        if capacity is not None and capacity < session.seats_taken:
            raise InvalidSession(
                _("%(taken)s people already hold a seat; capacity cannot be %(capacity)s.")
                % {"taken": session.seats_taken, "capacity": capacity}
            )
    else:
        session = Session(event=event)
    room = None
    if room_name.strip():
        room, _created = Room.objects.get_or_create(
            venue_id=event.venue_id, name=room_name.strip()[:100]
        )
    track = None
    if track_name.strip():
        track, _created = Track.objects.get_or_create(event=event, name=track_name.strip()[:100])
    if room is not None:
        taken = _overlapping(Session.objects.filter(room=room), starts_at, ends_at).exclude(
            pk=session.pk
        )
        clash = taken.first()
        if clash is not None:
            raise RoomOccupied(
                _("“%(session)s” is in %(room)s at that time.")
                % {"session": clash.title, "room": room.name}
            )
    before = _what_attendees_see(session) if session_id else None
    session.title, session.description = title[:200], description
    session.starts_at, session.ends_at = starts_at, ends_at
    session.room, session.track, session.capacity = room, track, capacity
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as exc:
        # Someone else booked the room between our check and our write: the constraint won.
        if "session_room_no_overlap" in str(exc):
            raise RoomOccupied() from exc
        raise
    speakers = []
    for name in dict.fromkeys(n.strip()[:150] for n in speaker_names or [] if n.strip()):
        speaker, _created = Speaker.objects.get_or_create(
            organization_id=event.organization_id, name=name
        )
        speakers.append(speaker)
    session.speakers.set(speakers)
    audit_record(
        actor=actor,
        action="session.save",
        target=session,
        organization=event.organization,
        changes={"title": session.title, "room": room_name, "speakers": [s.name for s in speakers]},
    )
    if before is not None:
        _announce_changes(session, before)
    search_refresh(event_ids=[event.pk])
    events_changed(event.pk)
    return SessionSaved(session=session, warnings=speaker_clashes(session))


@transaction.atomic(durable=True)
@busy_on_lock_timeout()
def session_delete(*, actor: User, session: Session) -> None:
    """Remove a session (and everyone's star on it)."""
    event = session.event
    audit_record(
        actor=actor,
        action="session.delete",
        target=session,
        organization=event.organization,
        changes={"title": session.title},
    )
    session.delete()
    search_refresh(event_ids=[event.pk])
    events_changed(event.pk)


def star_clashes(*, user: User, session: Session) -> list[Session]:
    """Sessions on `user`'s agenda that overlap `session`."""
    return list(
        _overlapping(Session.objects.filter(stars__user=user), session.starts_at, session.ends_at)
        .exclude(pk=session.pk)
        .select_related("room")
        .order_by("starts_at", "id")
    )


def _take_seat(session_id: Any) -> bool:
    """One seat in one conditional UPDATE, like ticket tiers; False when the session is full."""
    if switch_on("session_seats_unlocked"):
        # Test-only negative control: check, pause, then write without a condition.
        fresh = Session.objects.get(pk=session_id)
        if fresh.capacity is not None and fresh.seats_taken >= fresh.capacity:
            return False
        time.sleep(0.05)
        Session.objects.filter(pk=session_id).update(seats_taken=fresh.seats_taken + 1)
        return True
    return bool(
        Session.objects.filter(pk=session_id, seats_taken__lt=F("capacity")).update(
            seats_taken=F("seats_taken") + 1
        )
    )


@transaction.atomic(durable=True)
@busy_on_lock_timeout()
def session_star(*, user: User, session_id: Any) -> StarResult:
    """Star a session for `user`; a limited session takes one of its seats (or SESSION_FULL)."""
    session = Session.objects.select_related("event").filter(pk=session_id).first()
    if session is None or session.event.status == Event.Status.DRAFT:
        raise InvalidSession(_("Unknown session."))
    existing = SessionStar.objects.filter(user=user, session=session).first()
    if existing is not None:
        return StarResult(star=existing, clashes=star_clashes(user=user, session=session))
    if session.capacity is not None:
        if not holds_valid_ticket(user, session.event_id):
            raise TicketRequired(_("This session has limited seats: they are for ticket holders."))
        if not _take_seat(session.pk):
            raise SessionFull()
    try:
        with transaction.atomic():
            star = SessionStar.objects.create(user=user, session=session)
    except IntegrityError as exc:  # a double click raced us; undo our seat with the outer block
        raise InvalidSession(_("Already on your agenda.")) from exc
    events_changed(session.event_id)
    return StarResult(star=star, clashes=star_clashes(user=user, session=session))


@transaction.atomic(durable=True)
@busy_on_lock_timeout()
def session_unstar(*, user: User, session_id: Any) -> bool:
    """Take a session off `user`'s agenda (freeing the seat); False when it was not on it."""
    deleted, _by_model = SessionStar.objects.filter(user=user, session_id=session_id).delete()
    if deleted:
        Session.objects.filter(pk=session_id, capacity__isnull=False, seats_taken__gt=0).update(
            seats_taken=F("seats_taken") - 1
        )
        event_id = Session.objects.filter(pk=session_id).values_list("event_id", flat=True).first()
        if event_id:
            events_changed(event_id)
    return bool(deleted)


def agenda_feed_for(*, user: User) -> AgendaFeed:
    """`user`'s secret feed token, created on first use."""
    feed = AgendaFeed.objects.filter(user=user).first()
    if feed is not None:
        return feed
    try:
        with transaction.atomic():
            return AgendaFeed.objects.create(user=user, token=secrets.token_urlsafe(32))
    except IntegrityError:
        return AgendaFeed.objects.get(user=user)


@transaction.atomic(durable=True)
def agenda_feed_rotate(*, user: User) -> AgendaFeed:
    """A new secret for `user`'s feed; the old URL stops working at once."""
    feed, _created = AgendaFeed.objects.select_for_update().get_or_create(
        user=user, defaults={"token": secrets.token_urlsafe(32)}
    )
    feed.token = secrets.token_urlsafe(32)
    feed.save(update_fields=["token"])
    return feed
