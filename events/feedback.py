"""Feedback services: ticket holders rate an event once it has ended; organizers reply and hide.

Each event (and its organization) keeps a running count and sum of ratings, changed by
F-expressions in the same transaction as the feedback row, so search can sort by rating
without aggregating 500,000 rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from events.cache import events_changed
from events.errors import (
    FeedbackExists,
    FeedbackLocked,
    FeedbackNotOpen,
    InvalidFeedback,
    TicketRequired,
)
from events.models import Event, Feedback, FeedbackReply
from events.selectors import holds_valid_ticket

EDIT_WINDOW = timedelta(days=14)
MAX_COMMENT = 4000


def _validate(rating: Any, comment: str) -> tuple[int, str]:
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidFeedback()
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidFeedback(
            _("Keep the comment under %(count)s characters.") % {"count": MAX_COMMENT}
        )
    return rating, comment


def _add_to_totals(event: Event, count: int, rating_delta: int) -> None:
    Event.objects.filter(pk=event.pk).update(
        rating_count=F("rating_count") + count, rating_sum=F("rating_sum") + rating_delta
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO events_organizerrating (organization_id, rating_count, rating_sum)
            VALUES (%s, %s, %s)
            ON CONFLICT (organization_id) DO UPDATE
               SET rating_count = events_organizerrating.rating_count + EXCLUDED.rating_count,
                   rating_sum = events_organizerrating.rating_sum + EXCLUDED.rating_sum
            """,
            [event.organization_id, count, rating_delta],
        )


def can_give_feedback(*, user: User, event: Event) -> bool:
    return user.is_authenticated and event.has_ended and holds_valid_ticket(user, event.pk)


@transaction.atomic(durable=True)
def feedback_submit(*, author: User, event: Event, rating: int, comment: str = "") -> Feedback:
    """Rate an ended event 1-5 (ticket holders only, once each); returns the feedback."""
    rating, comment = _validate(rating, comment)
    if not holds_valid_ticket(author, event.pk):
        raise TicketRequired(_("Only people with a ticket to this event can rate it."))
    if event.status == Event.Status.CANCELLED or not event.has_ended:
        raise FeedbackNotOpen()
    try:
        with transaction.atomic():
            feedback = Feedback.objects.create(
                event=event, author=author, rating=rating, comment=comment
            )
    except IntegrityError as exc:
        raise FeedbackExists() from exc
    _add_to_totals(event, 1, rating)
    events_changed(event.pk)
    return feedback


@transaction.atomic(durable=True)
def feedback_edit(*, author: User, feedback_id: Any, rating: int, comment: str = "") -> Feedback:
    """Change your own feedback within 14 days of giving it."""
    rating, comment = _validate(rating, comment)
    feedback = (
        Feedback.objects.select_for_update()
        .select_related("event")
        .filter(pk=feedback_id, author=author)
        .first()
    )
    if feedback is None:
        raise InvalidFeedback(_("Unknown feedback."))
    if timezone.now() > feedback.created_at + EDIT_WINDOW:
        raise FeedbackLocked()
    delta = rating - feedback.rating
    feedback.rating, feedback.comment, feedback.updated_at = rating, comment, timezone.now()
    feedback.save(update_fields=["rating", "comment", "updated_at"])
    if delta:
        _add_to_totals(feedback.event, 0, delta)
    events_changed(feedback.event_id)
    return feedback


@transaction.atomic(durable=True)
def feedback_reply(*, actor: User, feedback: Feedback, body: str) -> FeedbackReply:
    """The organizer's public answer (one per feedback; replying again replaces it)."""
    body = body.strip()
    if not body or len(body) > MAX_COMMENT:
        raise InvalidFeedback(_("A reply has 1 to %(count)s characters.") % {"count": MAX_COMMENT})
    reply, _created = FeedbackReply.objects.update_or_create(
        feedback=feedback, defaults={"author": actor, "body": body}
    )
    audit_record(
        actor=actor,
        action="feedback.reply",
        target=feedback,
        organization=feedback.event.organization,
        changes={"reply": body[:200]},
    )
    events_changed(feedback.event_id)
    return reply


@transaction.atomic(durable=True)
def feedback_hide(*, actor: User, feedback: Feedback, hidden: bool = True) -> Feedback:
    """Hide (or show again) an abusive comment; the rating itself still counts."""
    Feedback.objects.filter(pk=feedback.pk).update(hidden=hidden)
    feedback.hidden = hidden
    audit_record(
        actor=actor,
        action="feedback.hide" if hidden else "feedback.show",
        target=feedback,
        organization=feedback.event.organization,
        changes={"comment": feedback.comment[:200]},
    )
    events_changed(feedback.event_id)
    return feedback
