from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class InvalidPayload(DomainError):
    """A QR payload that is not a genuine, intact Boxoffice ticket; `reason` says why."""

    code = "INVALID_TICKET"
    status = 422
    message = _("This is not a valid ticket.")

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)


class DeviceLinkRevoked(DomainError):
    code = "DEVICE_LINK_REVOKED"
    status = 410
    message = _("This scanner link was revoked by the organizer.")


class KeyInUse(DomainError):
    code = "KEY_IN_USE"
    status = 409
    message = _("The current signing key cannot be revoked; rotate to a new key first.")


class ListNameTaken(DomainError):
    code = "LIST_NAME_TAKEN"
    status = 409
    message = _("This event already has a check-in list with that name.")
