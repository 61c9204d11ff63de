from django.http import HttpRequest

from accounts.models import Membership
from accounts.selectors import user_roles


def roles(request: HttpRequest) -> dict[str, object]:
    """Navigation by role: one small query per authenticated page view."""
    user = request.user
    if not user.is_authenticated:
        return {"is_organizer": False, "is_door": False}
    found = user_roles(user)
    return {
        "is_organizer": bool(found & set(Membership.MANAGING_ROLES)),
        "is_door": bool(found),
    }
