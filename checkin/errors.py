from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

# What the door is told for each rejection, in the door's language (str() it where it is used);
# the reason codes are the API's stable contract.
SCAN_MESSAGES = {
    "ok": _("Admitted"),
    "exit": _("Exit recorded"),
    "malformed": _("This code is not a Boxoffice ticket."),
    "unknown_key": _("This ticket was signed with an unknown key."),
    "revoked_key": _("This ticket was signed with a revoked key."),
    "invalid_signature": _("This ticket's signature is not valid."),
    "wrong_event": _("This ticket is for another event."),
    "unknown_ticket": _("No such ticket."),
    "refunded": _("This ticket was refunded."),
    "transferred": _("This ticket was transferred to someone else."),
    "cancelled": _("This ticket was cancelled."),
    "revoked": _("This ticket is no longer valid."),
    "tier_not_allowed": _("This ticket's tier is not admitted here."),
    "already_used": _("Already used."),
    "already_inside": _("Already inside."),
    "not_inside": _("This ticket is not inside: no entry to leave from."),
    "exit_not_allowed": _("This list has no re-entry, so exits are not scanned."),
}


class InvalidPayload(DomainError):
    """A QR payload that is not a genuine, intact Boxoffice ticket; `reason` says why."""

    code = "INVALID_TICKET"
    status = 422
    message = _("This is not a valid ticket.")

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(SCAN_MESSAGES.get(reason))


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
