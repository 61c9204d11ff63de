"""Identifiers from the outside world."""

import uuid


def is_uuid(text: str) -> bool:
    """Whether `text` spells a UUID (a foreign id that is not one is simply not found)."""
    try:
        uuid.UUID(text)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
