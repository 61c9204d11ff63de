from django.http import HttpRequest

from accounts.models import Membership
from accounts.selectors import user_roles


def roles(request: HttpRequest) -> dict[str, object]:
    """Navigation by role (the roles are read once per request, see `user_roles`)."""
    user = request.user
    if not user.is_authenticated:
        return {"is_organizer": False, "is_door": False}
    found = set(user_roles(user))
    return {
        "is_organizer": bool(found & set(Membership.MANAGING_ROLES)),
        "is_door": bool(found),
    }
