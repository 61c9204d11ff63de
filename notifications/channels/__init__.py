"""How a rendered message leaves the building: email, SMS, webhook (in-app is a row)."""


class DeliveryFailed(Exception):
    """A try failed; `retryable` says whether trying again can help, `code` is the answer's code."""

    def __init__(self, message: str, *, retryable: bool = True, code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
