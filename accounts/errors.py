from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    status = 401
    message = _("Email or password is wrong.")


class EmailTaken(DomainError):
    code = "EMAIL_TAKEN"
    status = 409
    message = _("An account with this email already exists.")


class WeakPassword(DomainError):
    code = "WEAK_PASSWORD"
    status = 422


class InvalidEmail(DomainError):
    code = "INVALID_EMAIL"
    status = 422
    message = _("Enter a valid email address.")


class InvalidTokenRequest(DomainError):
    code = "INVALID_TOKEN_REQUEST"
    status = 422
    message = _("The token cannot be issued like that.")


class InsufficientScope(DomainError):
    """The token is good, but was not given the scope this route needs."""

    code = "INSUFFICIENT_SCOPE"
    status = 403
    message = _("This token may not do that.")
