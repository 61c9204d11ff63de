"""Buyers change their attendees' answers after paying, until the event's answer deadline.

The answers live on the tickets (copied there from checkout when they are issued); what counts
as an answer and until when it may change are events.questions' rules, applied here as at
checkout.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.db import busy_on_lock_timeout, row_or_raise
from core.errors import NotFound
from events.questions import answers_clean, answers_editable_check, event_questions
from ticketing.errors import OrderNotPaid
from ticketing.models import Order, Ticket


@transaction.atomic(durable=True)
@busy_on_lock_timeout()
def order_answers_change(
    *, buyer: User, order_id: Any, answers: dict[str, dict[str, Any]]
) -> list[Ticket]:
    """The valid tickets of the buyer's paid order, with the answers of those named in
    `answers` ({ticket id: {question id: answer}}) replaced; AnswersLocked after the event's
    deadline, AnswerRequired / AnswerInvalid as at checkout."""
    order = row_or_raise(
        Order.objects.select_related("event", "event__organization"),
        NotFound("No such order."),
        pk=order_id,
        buyer=buyer,
    )
    if order.status != Order.Status.PAID:
        raise OrderNotPaid()
    answers_editable_check(order.event)
    tickets = list(
        Ticket.objects.select_for_update()
        .filter(order=order, status=Ticket.Status.VALID)
        .order_by("pk")
    )
    by_id = {str(t.pk): t for t in tickets}
    unknown = [key for key in answers if key not in by_id]
    if unknown:
        raise NotFound(_("That ticket is not a valid ticket of this order."), ticket=unknown[0])
    questions = event_questions(order.event_id)
    changes: dict[str, dict[str, list[str]]] = {}
    for key, given in answers.items():
        ticket = by_id[key]
        asked = {str(q.pk) for q in questions if q.asks(ticket.tier_id)}
        (cleaned,) = answers_clean(questions, [ticket.tier_id], [given])
        # Answers to questions no longer asked stay, as when a question is removed.
        kept = {qid: value for qid, value in (ticket.answers or {}).items() if qid not in asked}
        new = {**kept, **cleaned}
        old = ticket.answers or {}
        diff = {
            qid: [old.get(qid, ""), new.get(qid, "")]
            for qid in sorted(set(old) | set(new))
            if old.get(qid, "") != new.get(qid, "")
        }
        if diff:
            ticket.answers = new
            ticket.save(update_fields=["answers"])
            changes[ticket.ref] = diff
    if changes:
        audit_record(
            actor=buyer,
            action="order.answers_changed",
            target=order,
            organization=order.event.organization,
            changes=changes,
        )
    return tickets
