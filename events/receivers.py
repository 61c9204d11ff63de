"""Events listens to accounts: public pages show the organizer's logo, so they are drawn again
when it changes."""

from typing import Any

from accounts.signals import organization_logo_changed
from events.cache import events_changed
from events.models import Event


def _logo_changed(sender: Any, *, organization_id: str, **kwargs: Any) -> None:
    events_changed(
        *Event.objects.filter(organization_id=organization_id).values_list("pk", flat=True)
    )


def connect() -> None:
    organization_logo_changed.connect(_logo_changed, dispatch_uid="events.logo_changed")
