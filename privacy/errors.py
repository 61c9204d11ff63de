from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class OwnerCannotErase(DomainError):
    code = "ACCOUNT_OWNS_ORGANIZATION"
    status = 409
    message = _(
        "You own an organization. Hand it to another owner (or close it) before erasing "
        "your account."
    )


class ExportNotFound(DomainError):
    code = "NOT_FOUND"
    status = 404
    message = _("No such export.")


class ExportLinkInvalid(DomainError):
    code = "EXPORT_LINK_INVALID"
    status = 410
    message = _("This download link is not valid any more. Ask for a new export.")
