import functools
import ipaddress
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken, clear_expired

from accounts import audit
from accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    InvalidTokenRequest,
    WeakPassword,
)
from accounts.models import (
    ApiToken,
    AuditEntry,
    Membership,
    OAuthIntegration,
    Organization,
    User,
)
from accounts.scopes import PERSONAL_TOKEN_SCOPES
from accounts.signals import organization_logo_changed
from accounts.signin_guard import signin_check, signin_failed, signin_succeeded
from core.db import prepared_cursor
from core.errors import NotFound, PermissionDenied
from core.images import PictureFields, picture_replace, picture_variants_record


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any,
    organization: Organization | None = None,
    changes: dict[str, Any] | None = None,
    ip: str | None = None,
    once: bool = False,
    spread: bool = False,
) -> AuditEntry:
    """Record who did what to `target`; call inside the transaction that makes the change.

    `target` is a model instance, or a `(target_type, target_id)` pair for something that is
    not a row (a failed sign-in for an unknown address). With `once`, a second record of the
    same action on the same target returns the first row instead of writing another. `spread`
    for rows written at rush rates (payments): they need not wait for each other
    (accounts/audit.py, LANES).
    """
    if isinstance(target, tuple):
        target_type, target_id = target
    else:
        target_type, target_id = target._meta.label_lower, str(target.pk)
    return audit.append(
        AuditEntry(
            actor=actor if actor is not None and actor.pk else None,
            organization=organization,
            action=action,
            target_type=target_type,
            target_id=target_id,
            changes=changes or {},
            ip=_valid_ip(ip),
        ),
        once=once,
        spread=spread,
    )


def _valid_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


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


@dataclass(frozen=True)
class TokenGrant:
    """Who a bearer token acts as and what it may do."""

    user: User
    scopes: frozenset[str]


def api_token_issue(
    *,
    email: str,
    password: str,
    address: str = "",
    request: Any = None,
    scopes: Iterable[str] | None = None,
    expires_in_days: int | None = None,
    name: str = "",
) -> str:
    """Check email + password and return a new personal bearer token (shown only this once).

    The token carries `scopes` (all of them by default) and expires after `expires_in_days`
    (settings.PERSONAL_TOKEN_DAYS by default, never later). Raises SignInThrottled while the
    account or the address `address` is paused after failures.
    """
    granted = _personal_scopes(scopes)
    days = settings.PERSONAL_TOKEN_DAYS if expires_in_days is None else expires_in_days
    if not 1 <= days <= settings.PERSONAL_TOKEN_DAYS:
        raise InvalidTokenRequest(
            f"expires_in_days must be between 1 and {settings.PERSONAL_TOKEN_DAYS}."
        )
    signin_check(email=email, address=address)
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        User().set_password(password)  # as slow as a wrong password: no hint the email is unknown
    if user is None or not user.check_password(password):
        signin_failed(email=email, address=address)
        # Announced like Django's authenticate() does for the login page: the audit trail hears it.
        user_login_failed.send(
            sender=__name__, credentials={"email": email, "via": "api"}, request=request
        )
        raise InvalidCredentials()
    signin_succeeded(email=email)
    token = ApiToken.new_token()
    now = timezone.now()
    with transaction.atomic(durable=True):
        # Issuing counts as use, so the first API call does not write.
        api_token = ApiToken.objects.create(
            user=user,
            digest=ApiToken.digest_of(token),
            name=name,
            scopes=granted,
            expires_at=now + timedelta(days=days),
            last_used_at=now,
        )
        audit_record(
            actor=user,
            action="api_token.issue",
            target=api_token,
            changes={"scopes": granted, "expires_at": api_token.expires_at, "name": name},
            ip=address,
        )
    return token


def _personal_scopes(scopes: Iterable[str] | None) -> list[str]:
    if scopes is None:
        return list(PERSONAL_TOKEN_SCOPES)
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in PERSONAL_TOKEN_SCOPES]
    if unknown or not wanted:
        raise InvalidTokenRequest(
            "Unknown scope: " + ", ".join(unknown) if unknown else "Ask for at least one scope."
        )
    return wanted


@transaction.atomic(durable=True)
def api_token_revoke(*, user: User, token_id: int, address: str = "") -> ApiToken:
    """Revoke one of `user`'s personal tokens; it stops working at once."""
    api_token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
    if api_token is None:
        raise NotFound()
    if api_token.revoked_at is None:
        api_token.revoked_at = timezone.now()
        api_token.save(update_fields=["revoked_at"])
        audit_record(actor=user, action="api_token.revoke", target=api_token, ip=address)
    return api_token


# Dead tokens stay this long so a person can still see, on their tokens page, what ended when.
DEAD_TOKENS_KEPT = timedelta(days=30)


def dead_tokens_delete() -> int:
    """Delete personal tokens that expired or were revoked long ago, and the OAuth toolkit's
    expired tokens and grants; the audit trail keeps who issued and revoked what."""
    cutoff = timezone.now() - DEAD_TOKENS_KEPT
    gone = ApiToken.objects.filter(expires_at__lt=cutoff).delete()[0]
    gone += ApiToken.objects.filter(revoked_at__lt=cutoff).delete()[0]
    clear_expired()
    return gone


@functools.cache
def _token_user_query() -> tuple[str, list[str]]:
    """The token lookup as SQL (built once from model metadata) and the user's field names."""
    quote = connection.ops.quote_name
    token, user = ApiToken._meta, User._meta
    fields = user.concrete_fields

    def column(meta: Any, name: str) -> str:
        return quote(meta.get_field(name).column)

    # Names come from model metadata, quoted; the digest is a parameter.
    columns = ", ".join(
        [
            f"t.{column(token, 'id')}",
            f"t.{column(token, 'last_used_at')}",
            f"t.{column(token, 'scopes')}",
            f"t.{column(token, 'expires_at')}",
        ]
        + [f"u.{quote(str(field.column))}" for field in fields]
    )
    sql = (
        f"SELECT {columns} FROM {quote(token.db_table)} t"  # noqa: S608 - names quoted, digest a parameter
        f" JOIN {quote(user.db_table)} u ON u.{column(user, 'id')} = t.{column(token, 'user')}"
        f" WHERE t.{column(token, 'digest')} = %s AND u.{column(user, 'is_active')}"
        f" AND t.{column(token, 'revoked_at')} IS NULL AND t.{column(token, 'expires_at')} > now()"
    )
    return sql, [field.attname for field in fields]


class _TokenLookups:
    """Recent personal-token lookups of this process, by the token's digest.

    A rush sends every buyer's token twice or more within seconds; each lookup is a round trip
    and most of a cheap request's CPU. An entry lives `API_TOKEN_CACHE_SECONDS` at most (and
    never past the token's expiry). A change to a token or its user in this process (revocation,
    deactivation) drops that user's entries at once (`forget_user`, from `receivers`); another
    web process may still accept the revoked token for up to `API_TOKEN_CACHE_SECONDS`. Only
    tokens that were found are kept, so made-up tokens cannot fill it.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self.clock = time.monotonic
        # digest -> (fresh until (monotonic), user id, (token id, last used, scopes, expiry,
        # user values)); and each user's digests, so a change to one user is cheap to apply.
        self.entries: dict[str, tuple[float, Any, tuple[Any, Any, Any, Any, list[Any]]]] = {}
        self.of_user: dict[Any, set[str]] = {}

    def get(self, digest: str) -> tuple[Any, Any, Any, Any, list[Any]] | None:
        entry = self.entries.get(digest)
        if entry is None:
            return None
        fresh_until, _user_id, row = entry
        if fresh_until < self.clock() or row[3] <= timezone.now():
            self.entries.pop(digest, None)
            return None
        return row

    def put(self, digest: str, user_id: Any, row: tuple[Any, Any, Any, Any, list[Any]]) -> None:
        seconds = settings.API_TOKEN_CACHE_SECONDS
        if seconds <= 0:
            return
        if len(self.entries) >= self.MAX_ENTRIES:
            self.clear()  # rare, and cheaper than keeping an order of use on every hit
        self.entries[digest] = (self.clock() + seconds, user_id, row)
        self.of_user.setdefault(user_id, set()).add(digest)

    def forget_user(self, user_id: Any) -> None:
        for digest in self.of_user.pop(user_id, ()):
            self.entries.pop(digest, None)

    def clear(self) -> None:
        self.entries.clear()
        self.of_user.clear()


token_lookups = _TokenLookups()


def api_token_forget(*, user_id: Any) -> None:
    """Drop this process's cached lookups of `user_id`'s tokens (a token or the user changed)."""
    token_lookups.forget_user(user_id)


def api_token_grant(token: str) -> TokenGrant | None:
    """The active user a personal token belongs to and its scopes; None when the token is
    unknown, revoked or expired (see `_TokenLookups` for how late a revocation may show)."""
    # Every API request runs this. The same lookup through the ORM (select_related, filter,
    # first) costs ~1 ms of CPU to compile and materialise; this costs ~0.2 ms
    # (bench/flash_sale.py). Same statement, same result, no user input in the SQL text.
    sql, user_fields = _token_user_query()
    digest = ApiToken.digest_of(token)
    row = token_lookups.get(digest)
    if row is None:
        with prepared_cursor() as cursor:
            cursor.execute(sql, [digest])
            found = cursor.fetchone()
        if found is None:
            return None
        token_id, last_used_at, scopes, expires_at, *user_values = found
        row = (token_id, last_used_at, scopes, expires_at, user_values)
        token_lookups.put(digest, user_values[user_fields.index("id")], row)
    token_id, last_used_at, scopes, expires_at, user_values = row
    now = timezone.now()
    # Touch at most hourly so the hot path does not write on every request.
    if last_used_at is None or (now - last_used_at).total_seconds() > 3600:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
        row = (token_id, now, scopes, expires_at, user_values)
        token_lookups.put(digest, user_values[user_fields.index("id")], row)
    # A new User per request: requests on other threads must not share a mutable instance.
    return TokenGrant(User.from_db(connection.alias, user_fields, user_values), frozenset(scopes))


def api_token_user(token: str) -> User | None:
    """The active user a personal token belongs to, or None (unknown, revoked or expired)."""
    grant = api_token_grant(token)
    return grant.user if grant is not None else None


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


@transaction.atomic
def membership_grant(
    *, organization: Organization, user: User, role: str, actor: User | None = None
) -> Membership:
    """Give `user` `role` in `organization` (updating an existing membership)."""
    before = (
        Membership.objects.filter(organization=organization, user=user)
        .values_list("role", flat=True)
        .first()
    )
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if before != role:
        audit_record(
            actor=actor,
            action="membership.role",
            target=membership,
            organization=organization,
            changes={"user": user.pk, "role": [before, role]},
        )
    return membership


LOGO = PictureFields(
    file="logo",
    width="logo_width",
    height="logo_height",
    variants="logo_variants",
    default_name="logo.png",
)


@transaction.atomic(durable=True)
def organization_logo_set(
    *, actor: User, organization: Organization, image: UploadedFile | None
) -> Organization:
    """Replace (or, with None, remove) the logo; its sizes are made after commit by a task."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    old, new = picture_replace(organization, LOGO, image)
    organization.save()
    audit_record(
        actor=actor,
        action="organization.logo",
        target=organization,
        organization=organization,
        changes={"logo": [old, new]},
    )
    organization_id = str(organization.pk)
    transaction.on_commit(lambda: _logo_changed(organization_id))
    if organization.logo:
        from accounts.tasks import organization_logo_process

        transaction.on_commit(lambda: organization_logo_process.delay(organization_id))
    return organization


def _logo_changed(organization_id: str) -> None:
    organization_logo_changed.send(sender=Organization, organization_id=organization_id)


def organization_logo_variants_build(*, organization_id: Any) -> dict[str, Any]:
    """Make the logo's sizes and record them, unless the logo changed meanwhile."""
    variants = picture_variants_record(
        Organization, organization_id, LOGO, folder=f"organizations/{organization_id}/sizes"
    )
    if variants:
        _logo_changed(str(organization_id))
    return variants


def organization_require_mfa(*, actor: User, organization: Organization, required: bool) -> None:
    """Turn the second-factor requirement for managers of `organization` on or off."""
    Organization.objects.filter(pk=organization.pk).update(require_mfa_for_managers=required)
    audit_record(
        actor=actor,
        action="organization.require_mfa",
        target=organization,
        organization=organization,
        changes={"require_mfa_for_managers": required},
    )


def user_language_set(*, user: User, language: str) -> bool:
    """Remember the language `user` chose, for their mail and PDFs; False if not offered."""
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        return False
    User.objects.filter(pk=user.pk).update(language=language)
    return True


@transaction.atomic(durable=True)
def oauth_integration_create(
    *, owner: User, organization: Organization, name: str, address: str = ""
) -> tuple[OAuthIntegration, str]:
    """Register a server of `organization` as an OAuth2 client-credentials app; returns the
    integration and its client secret (stored hashed, so shown only this once).

    Its tokens act as a manager of `organization` and of nothing else.
    """
    if not Membership.objects.filter(
        organization=organization, user=owner, role=Membership.Role.OWNER
    ).exists():
        raise PermissionDenied()
    service_user = User.objects.create_user(
        email=f"integration-{uuid.uuid4().hex}@integrations.invalid",
        password=None,
        full_name=name[:150],
    )
    Membership.objects.create(
        organization=organization, user=service_user, role=Membership.Role.MANAGER
    )
    secret = generate_client_secret()
    application = Application.objects.create(
        name=name,
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,  # hashed when saved
    )
    integration = OAuthIntegration.objects.create(
        application=application, organization=organization, service_user=service_user
    )
    audit_record(
        actor=owner,
        action="oauth.integration.create",
        target=integration,
        organization=organization,
        changes={"application": name, "client_id": application.client_id},
        ip=address,
    )
    return integration, secret


@transaction.atomic(durable=True)
def oauth_integration_revoke(
    *, owner: User, organization: Organization, integration_id: int, address: str = ""
) -> None:
    """End one of `organization`'s integrations: its tokens stop working at once, its client
    id and secret are gone, and its service user can no longer act for the organization."""
    if not Membership.objects.filter(
        organization=organization, user=owner, role=Membership.Role.OWNER
    ).exists():
        raise PermissionDenied()
    integration = (
        OAuthIntegration.objects.select_for_update()
        .select_related("application", "service_user")
        .filter(organization=organization, pk=integration_id)
        .first()
    )
    if integration is None:
        raise NotFound()
    application, service_user = integration.application, integration.service_user
    audit_record(
        actor=owner,
        action="oauth.integration.revoke",
        target=integration,
        organization=organization,
        changes={"application": application.name, "client_id": application.client_id},
        ip=address,
    )
    RefreshToken.objects.filter(application=application).delete()
    AccessToken.objects.filter(application=application).delete()
    Membership.objects.filter(user=service_user).delete()
    # Kept, inactive, so the audit rows it wrote still name who acted.
    service_user.is_active = False
    service_user.save(update_fields=["is_active"])
    application.delete()  # takes the integration row with it
