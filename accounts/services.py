from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.errors import EmailTaken, InvalidCredentials, InvalidEmail, WeakPassword
from accounts.models import ApiToken, AuditEntry, Membership, Organization, User


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any,
    organization: Organization | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record who did what to `target`; call inside the transaction that makes the change."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        organization=organization,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        changes=changes or {},
    )


@transaction.atomic(durable=True)
def user_sign_up(*, email: str, password: str, full_name: str = "") -> User:
    """Create an attendee account with a validated password."""
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidEmail() from exc
    candidate = User(email=email, full_name=full_name)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise WeakPassword(" ".join(exc.messages)) from exc
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken()
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, full_name=full_name)
    except IntegrityError as exc:  # a racing sign-up with the same email
        raise EmailTaken() from exc


@transaction.atomic(durable=True)
def api_token_issue(*, email: str, password: str) -> str:
    """Check email + password and return a new bearer token (shown only this once)."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.check_password(password):
        raise InvalidCredentials()
    token = ApiToken.new_token()
    # Issuing counts as use, so the first API call does not write.
    ApiToken.objects.create(
        user=user, digest=ApiToken.digest_of(token), last_used_at=timezone.now()
    )
    return token


def api_token_user(token: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    row = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(token), user__is_active=True)
        .only("id", "last_used_at", "user")
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    # Touch at most hourly so the hot path does not write on every request.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 3600:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


@transaction.atomic(durable=True)
def organization_create(*, owner: User, name: str) -> Organization:
    """Create an organization with `owner` as its owner."""
    base = slugify(name)[:180] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    organization = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(organization=organization, user=owner, role=Membership.Role.OWNER)
    audit_record(
        actor=owner,
        action="organization.create",
        target=organization,
        organization=organization,
        changes={"name": name},
    )
    return organization


def membership_grant(*, organization: Organization, user: User, role: str) -> Membership:
    """Give `user` `role` in `organization` (updating an existing membership)."""
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    return membership
