from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class InvalidPhone(DomainError):
    code = "INVALID_PHONE"
    status = 422
    message = _("Enter a mobile number with its country code, e.g. +49 151 23456789.")


class InvalidWebhook(DomainError):
    code = "INVALID_WEBHOOK"
    status = 422
    message = _("The webhook endpoint is not valid.")


class InvalidReminders(DomainError):
    code = "INVALID_REMINDERS"
    status = 422
    message = _("Reminders are whole minutes between 5 minutes and 14 days before the start.")


class InvalidUnsubscribeLink(DomainError):
    code = "INVALID_UNSUBSCRIBE_LINK"
    status = 400
    message = _("This unsubscribe link is not valid.")
