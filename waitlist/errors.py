from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class TicketsAvailable(DomainError):
    code = "TICKETS_AVAILABLE"
    status = 409
    message = _("Tickets are still available: book them instead of waiting.")


class OfferNotOpen(DomainError):
    code = "OFFER_NOT_OPEN"
    status = 409
    message = _("This offer was already used, declined or has expired.")


class OfferExpired(DomainError):
    code = "OFFER_EXPIRED"
    status = 409
    message = _("Sorry, this offer has expired and went to the next person in line.")


class NothingToOffer(DomainError):
    code = "NOTHING_TO_OFFER"
    status = 409
    message = _("There is no free seat to offer, or nobody is waiting.")
