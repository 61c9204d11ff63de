import uuid
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery, UUIDField, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from events.models import Event
from waitlist.models import WaitlistEntry

# Stands for "any tier" so that line membership can be compared with `=` (NULL = NULL is not).
_ANY_TIER = Value(uuid.UUID(int=0), output_field=UUIDField())


@dataclass(frozen=True)
class Place:
    entry: WaitlistEntry
    position: int  # 1 is next in line


def waiting_places(user: User, event: Event) -> list[Place]:
    """The lines `user` is in for `event`, with their position in each (one query)."""
    line = Coalesce("tier_id", _ANY_TIER)
    ahead = (
        WaitlistEntry.objects.filter(event=OuterRef("event"), status=WaitlistEntry.Status.WAITING)
        .annotate(line=line)
        .filter(line=OuterRef("line"))
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), id__lte=OuterRef("id"))
        )
        .values("event")
        .annotate(n=Count("id"))
        .values("n")
    )
    entries = (
        WaitlistEntry.objects.filter(user=user, event=event, status=WaitlistEntry.Status.WAITING)
        .select_related("tier")
        .annotate(line=line, position=Subquery(ahead))
    )
    return [Place(entry=e, position=e.position) for e in entries]
