from datetime import date

from django.db.models import QuerySet

from accounts.models import ApiToken, AuditEntry, Membership, Organization, User


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


def user_roles(user: User) -> dict[str, bool]:
    """Each role `user` holds in some organization, and whether any organization where they hold
    it asks its managers for a second factor.

    Kept on the user object: a signed-in page asks twice (the MFA guard, then the navigation),
    and the session loads a new user object for every request, so it lives as long as one."""
    if not user.is_authenticated:
        return {}
    known: dict[str, bool] | None = getattr(user, "_boxoffice_roles", None)
    if known is None:
        known = {}
        for role, asks_mfa in Membership.objects.filter(user=user).values_list(
            "role", "organization__require_mfa_for_managers"
        ):
            known[role] = known.get(role, False) or asks_mfa
        user._boxoffice_roles = known  # type: ignore[attr-defined]
    return known


def organizations_owned_by(user: User) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(
        membership__user=user, membership__role=Membership.Role.OWNER
    ).distinct()


def audit_trail(
    user: User,
    *,
    organization_id: str | None = None,
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """Audit rows an owner may read: those of the organizations they own, newest first."""
    entries = AuditEntry.objects.filter(
        organization__in=organizations_owned_by(user).values("pk")
    ).select_related("actor", "organization")
    if organization_id:
        entries = entries.filter(organization_id=organization_id)
    if action:
        entries = entries.filter(action__startswith=action)
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    return entries.order_by("-created_at", "-pk")


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """`user`'s personal API tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")
