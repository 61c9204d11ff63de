"""The one base class for domain errors: a stable machine `code`, an HTTP status, a message.

Services raise these; views turn them into form errors, the API into
`{"error": {"code": ..., "message": ...}}` with `status` (and `Retry-After` when set).
"""

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "ERROR"
    status: ClassVar[int] = 400
    message: ClassVar[str] = "The request could not be completed."
    retry_after: int | None = None

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.detail_message = message or self.message
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
    message = "Not found."


class PermissionDenied(DomainError):
    code = "FORBIDDEN"
    status = 403
    message = "You are not allowed to do that."


class Busy(DomainError):
    """A lock could not be had in time: the service is fine, the row is busy; retry shortly."""

    code = "BUSY"
    status = 503
    message = "Too many people are doing this right now; try again in a moment."
    retry_after = 1
