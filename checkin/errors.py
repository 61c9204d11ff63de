from config.errors import DomainError


class InvalidPayload(DomainError):
    """A QR payload that is not a genuine, intact Boxoffice ticket; `reason` says why."""

    code = "INVALID_TICKET"
    status = 422
    message = "This is not a valid ticket."

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)
