from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class EventNotEditable(DomainError):
    code = "EVENT_NOT_EDITABLE"
    status = 409
    message = _("This event can no longer be changed that way.")


class EventHasOrders(DomainError):
    code = "EVENT_HAS_ORDERS"
    status = 409
    message = _("Only drafts without orders can be deleted; cancel the event instead.")


class InvalidEvent(DomainError):
    code = "INVALID_EVENT"
    status = 422
    message = _("The event is not valid.")


class QueryTooLong(DomainError):
    code = "QUERY_TOO_LONG"
    status = 422
    message = _("The search is too long.")


class CapacityBelowSold(DomainError):
    code = "CAPACITY_BELOW_SOLD"
    status = 422
    message = _("Capacity cannot go below the tickets already sold or held.")


class InvalidSession(DomainError):
    code = "INVALID_SESSION"
    status = 422
    message = _("The session is not valid.")


class RoomOccupied(DomainError):
    code = "ROOM_OCCUPIED"
    status = 409
    message = _("Another session is in that room at that time.")


class SessionFull(DomainError):
    code = "SESSION_FULL"
    status = 409
    message = _("This session is full.")


class TicketRequired(DomainError):
    code = "TICKET_REQUIRED"
    status = 403
    message = _("Only ticket holders can do that.")


class FeedbackNotOpen(DomainError):
    code = "FEEDBACK_NOT_OPEN"
    status = 409
    message = _("Feedback opens when the event has ended.")


class FeedbackExists(DomainError):
    code = "FEEDBACK_EXISTS"
    status = 409
    message = _("You already gave feedback for this event; edit it instead.")


class FeedbackLocked(DomainError):
    code = "FEEDBACK_LOCKED"
    status = 409
    message = _("Feedback can be edited for 14 days after it was given.")


class InvalidFeedback(DomainError):
    code = "INVALID_FEEDBACK"
    status = 422
    message = _("Rate from 1 to 5.")


class AnswerRequired(DomainError):
    code = "ANSWER_REQUIRED"
    status = 422
    message = _("This question needs an answer.")


class AnswerInvalid(DomainError):
    code = "ANSWER_INVALID"
    status = 422
    message = _("This answer is not one the question allows.")


class InvalidQuestion(DomainError):
    code = "INVALID_QUESTION"
    status = 422
    message = _("A choice question needs at least two options.")


class AnswersLocked(DomainError):
    code = "ANSWERS_LOCKED"
    status = 409
    message = _("The answers can no longer be changed: the organizer's deadline has passed.")
