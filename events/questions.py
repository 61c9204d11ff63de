"""Attendee questions: what an organizer asks about each attendee, and what counts as an answer.

One definition of a valid answer (`answer_clean`), used by the checkout form, the booking
service that stores answers and the API, so a page and a script are held to the same rules.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.timefmt import local_time
from events.errors import AnswerInvalid, AnswerRequired, AnswersLocked, InvalidQuestion
from events.models import AttendeeQuestion, Event

ANSWER_MAX = 500
YES, NO = "yes", "no"


def event_questions(event_id: Any) -> list[AttendeeQuestion]:
    """The event's questions in the order they are asked."""
    return list(AttendeeQuestion.objects.filter(event_id=event_id).select_related("tier"))


def answer_clean(question: AttendeeQuestion, value: Any) -> str:
    """`value` as stored for `question` ("" for no answer), or AnswerRequired / AnswerInvalid."""
    if isinstance(value, bool):
        value = YES if value else NO
    text = " ".join(str(value if value is not None else "").split())
    if not text:
        if question.required:
            raise AnswerRequired(
                _("“%(question)s” needs an answer.") % {"question": question.label},
                question=str(question.pk),
            )
        return ""
    if question.kind == AttendeeQuestion.Kind.YES_NO:
        text = text.lower()
        if text not in (YES, NO):
            raise AnswerInvalid(
                _("Answer “%(question)s” with yes or no.") % {"question": question.label}
            )
    elif question.kind == AttendeeQuestion.Kind.CHOICE and text not in question.options:
        raise AnswerInvalid(
            _("Choose one of the options for “%(question)s”.") % {"question": question.label},
            question=str(question.pk),
        )
    if len(text) > ANSWER_MAX:
        raise AnswerInvalid(
            _("Keep “%(question)s” under %(count)s characters.")
            % {"question": question.label, "count": ANSWER_MAX}
        )
    return text


def answers_clean(
    questions: Sequence[AttendeeQuestion], tier_ids: Sequence[Any], given: Sequence[dict[str, Any]]
) -> list[dict[str, str]]:
    """Per ticket (in ticket order, `tier_ids`), the cleaned answers to the questions it is asked,
    keyed by question id; answers to questions a ticket is not asked are dropped."""
    cleaned = []
    for index, tier_id in enumerate(tier_ids):
        raw = given[index] if index < len(given) else {}
        ticket: dict[str, str] = {}
        for question in questions:
            if question.asks(tier_id):
                value = answer_clean(question, raw.get(str(question.pk)))
                if value:
                    ticket[str(question.pk)] = value
        cleaned.append(ticket)
    return cleaned


def answers_deadline(event: Event) -> datetime:
    """Until when buyers may change their attendees' answers after paying: the organizer's
    deadline, or the start of the event when none is set."""
    return event.answers_editable_until or event.starts_at


def answers_editable(event: Event, *, now: datetime | None = None) -> bool:
    return (now or timezone.now()) < answers_deadline(event)


def answers_editable_check(event: Event) -> None:
    """AnswersLocked once the event's answer deadline has passed."""
    if not answers_editable(event):
        deadline = answers_deadline(event)
        raise AnswersLocked(
            _("The answers could be changed until %(deadline)s.")
            % {"deadline": local_time(deadline, event)},
            deadline=deadline.isoformat(),
        )


def answers_display(
    questions: Sequence[AttendeeQuestion], answers: dict[str, str] | None
) -> list[tuple[AttendeeQuestion, str]]:
    """(question, answer or "") for each of `questions`, for tables and exports."""
    answers = answers or {}
    return [(q, answers.get(str(q.pk), "")) for q in questions]


@transaction.atomic(durable=True)
def question_create(
    *,
    actor: User,
    event: Event,
    label: str,
    kind: str,
    options: Sequence[str] = (),
    required: bool = False,
    tier_id: Any = None,
) -> AttendeeQuestion:
    """Add a question asked at checkout from now on (of every ticket, or of one tier's)."""
    label = " ".join(label.split())[:200]
    cleaned = list(dict.fromkeys(o.strip()[:100] for o in options if o.strip()))
    if not label or kind not in AttendeeQuestion.Kind.values:
        raise InvalidQuestion(_("Give the question a text and a kind."))
    if kind == AttendeeQuestion.Kind.CHOICE and len(cleaned) < 2:
        raise InvalidQuestion()
    if tier_id and not event.tiers.filter(pk=tier_id).exists():
        raise InvalidQuestion(_("That tier is not one of this event's."))
    position = AttendeeQuestion.objects.filter(event=event).count()
    question = AttendeeQuestion.objects.create(
        event=event,
        tier_id=tier_id or None,
        label=label,
        kind=kind,
        options=cleaned if kind == AttendeeQuestion.Kind.CHOICE else [],
        required=required,
        position=position,
    )
    audit_record(
        actor=actor,
        action="event.question_added",
        target=question,
        organization=event.organization,
        changes={"label": label, "kind": kind, "required": required, "tier": str(tier_id or "")},
    )
    return question


@transaction.atomic(durable=True)
def question_delete(*, actor: User, event: Event, question_id: Any) -> None:
    """Stop asking a question; answers already given stay on the tickets."""
    question = AttendeeQuestion.objects.filter(event=event, pk=question_id).first()
    if question is None:
        return
    audit_record(
        actor=actor,
        action="event.question_removed",
        target=question,
        organization=event.organization,
        changes={"label": question.label},
    )
    question.delete()


@transaction.atomic(durable=True)
def answers_deadline_set(*, actor: User, event: Event, until: datetime | None) -> Event:
    """Let buyers change their attendees' answers until `until` (None: until the event starts)."""
    before = event.answers_editable_until
    event.answers_editable_until = until
    event.save(update_fields=["answers_editable_until", "updated_at"])
    audit_record(
        actor=actor,
        action="event.answers_deadline_set",
        target=event,
        organization=event.organization,
        changes={
            "answers_editable_until": [
                before.isoformat() if before else None,
                until.isoformat() if until else None,
            ]
        },
    )
    return event
