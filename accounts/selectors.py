from django.db.models import QuerySet

from accounts.models import Membership, Organization, User


def organizations_managed_by(user: User) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(
        membership__user=user, membership__role__in=Membership.MANAGING_ROLES
    ).distinct()


def organizations_with_door_access(user: User) -> QuerySet[Organization]:
    """Organizations where `user` may scan tickets (door staff, managers and owners)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(membership__user=user).distinct()


def user_roles(user: User) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    return roles
