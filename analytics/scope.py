from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import organizations_managed_by
from events.models import Event


def can_see_platform(user: User) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def dashboard_events(user: User, *, platform: bool) -> QuerySet[Event]:
    """The events a dashboard may count: the user's organizations' events, or every event for
    an admin who asked for the platform-wide view."""
    if platform and can_see_platform(user):
        return Event.objects.all()
    return Event.objects.filter(organization__in=organizations_managed_by(user))
