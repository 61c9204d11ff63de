import functools
from datetime import date
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import QuerySet

from accounts.models import ApiToken, AuditEntry, Membership, Organization, User


def organizations_managed_by(user: User) -> QuerySet[Organization]:
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(
        membership__user=user, membership__role__in=Membership.MANAGING_ROLES
    ).distinct()


class _MembershipSql(NamedTuple):
    managed: str  # ids of the organizations a user manages, a subquery
    roles: str  # a user's roles, and whether each role's organization asks for a second factor


@functools.cache
def _membership_sql() -> _MembershipSql:
    """As plain SQL, built once: the ids of the organizations a user manages (a subquery), and
    a user's roles with whether each role's organization asks managers for a second factor."""
    quote = connection.ops.quote_name
    membership, organization = Membership._meta, Organization._meta
    fields = {name: membership.get_field(name) for name in ("organization", "user", "role")}
    column = {name: quote(str(field.column)) for name, field in fields.items()}  # type: ignore[union-attr]
    asks_mfa = quote(str(organization.get_field("require_mfa_for_managers").column))
    table = quote(membership.db_table)
    managed = (
        f"SELECT {column['organization']} FROM {table}"  # noqa: S608 - names quoted
        f" WHERE {column['user']} = %s AND {column['role']} = ANY(%s)"
    )
    roles = (
        f"SELECT m.{column['role']}, o.{asks_mfa} FROM {table} m"  # noqa: S608 - names quoted
        f" JOIN {quote(organization.db_table)} o ON o.{quote(str(organization.pk.column))}"
        f" = m.{column['organization']} WHERE m.{column['user']} = %s"
    )
    return _MembershipSql(managed=managed, roles=roles)


def organizations_managed_by_sql(user: User) -> tuple[str, list[Any]]:
    """`organizations_managed_by` as a plain-SQL subquery of organization ids, and its
    parameters, for lookups written as SQL (`core.rows`)."""
    return _membership_sql().managed, [user.pk, list(Membership.MANAGING_ROLES)]


def organizations_with_door_access(user: User) -> QuerySet[Organization]:
    """Organizations where `user` may scan tickets (door staff, managers and owners)."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(membership__user=user).distinct()


def user_roles(user: User) -> dict[str, bool]:
    """Each role `user` holds in some organization, and whether any organization where they hold
    it asks its managers for a second factor.

    Kept on the user object: a signed-in page asks twice (the MFA guard, then the navigation),
    and the session loads a new user object for every request, so it lives as long as one.
    Plain SQL, as every signed-in page asks: ~0.1 ms of CPU where the ORM took ~0.35."""
    if not user.is_authenticated:
        return {}
    known: dict[str, bool] | None = getattr(user, "_boxoffice_roles", None)
    if known is None:
        known = {}
        with connection.cursor() as cursor:
            cursor.execute(_membership_sql().roles, [user.pk])
            for role, asks_mfa in cursor.fetchall():
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
