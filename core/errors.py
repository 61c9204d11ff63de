"""The one base class for domain errors: a stable machine `code`, an HTTP status, a message.

Services raise these; views turn them into form errors, the API into
`{"error": {"code": ..., "message": ...}}` with `status` (and `Retry-After` when set).
"""

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DomainError(Exception):
    code: ClassVar[str] = "ERROR"
    status: ClassVar[int] = 400
    # Lazy: read in the language active where the error is raised (the request's, for a
    # page or an API call), so a German page says it in German; the code stays the same.
    message: ClassVar["StrOrPromise"] = _("The request could not be completed.")
    retry_after: int | None = None

    def __init__(self, message: "StrOrPromise | None" = None, **details: Any) -> None:
        self.detail_message = str(message or self.message)
        self.details = details
        super().__init__(self.detail_message)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.detail_message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class NotFound(DomainError):
    code = "NOT_FOUND"
    status = 404
    message = _("Not found.")


class PermissionDenied(DomainError):
    code = "FORBIDDEN"
    status = 403
    message = _("You are not allowed to do that.")


class Busy(DomainError):
    """A lock could not be had in time: the service is fine, the row is busy; retry shortly."""

    code = "BUSY"
    status = 503
    message = _("Too many people are doing this right now; try again in a moment.")
    retry_after = 1
