import hashlib
import posixpath
import secrets
import uuid
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.scopes import PERSONAL_TOKEN_SCOPES
from core.images import Picture


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person: every user can buy tickets; memberships make organizers and door staff."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    # The language mail and PDFs are written in: the one last chosen on the site.
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default="en", db_default="en"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.email.split("@")[0]


def logo_upload_to(instance: "Organization", filename: str) -> str:
    """A fresh name per upload, so a CDN never serves the old logo under the new one's URL."""
    extension = posixpath.splitext(filename)[1].lower()[:6] or ".png"
    return f"organizations/{instance.pk}/logo-{uuid.uuid4().hex[:10]}{extension}"


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(User, through="Membership", related_name="organizations")
    # The upload as it came; accounts.tasks makes the sizes pages use (logo_variants).
    logo = models.ImageField(
        upload_to=logo_upload_to,
        blank=True,
        db_default="",
        width_field="logo_width",
        height_field="logo_height",
    )
    logo_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    logo_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    logo_variants = models.JSONField(default=dict, db_default={}, blank=True, editable=False)
    # Owners can refund money and change roles; when set, managers need a second factor too.
    # db_default: bulk loads (seed_scale's COPY) that name their own columns still get one.
    require_mfa_for_managers = models.BooleanField(
        "require two-factor authentication of managers", default=False, db_default=False
    )

    def __str__(self) -> str:
        return self.name

    @property
    def logo_picture(self) -> Picture | None:
        """The logo for `components/picture.html`: its sizes once made, the upload until then."""
        if not self.logo:
            return None
        return Picture.of(
            self.logo_variants,
            fallback_url=self.logo.url,
            width=self.logo_width or 0,
            height=self.logo_height or 0,
        )


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MANAGER = "manager", _("Manager")
        DOOR = "door", _("Door staff")

    MANAGING_ROLES = (Role.OWNER, Role.MANAGER)

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.organization}"


def personal_token_scopes() -> list[str]:
    return list(PERSONAL_TOKEN_SCOPES)


def personal_token_expiry() -> Any:
    return timezone.now() + timedelta(days=settings.PERSONAL_TOKEN_DAYS)


class ApiToken(models.Model):
    """A personal bearer token for the JSON API: scoped, expiring and revocable.

    Only its SHA-256 is stored; the token itself is shown once, when it is issued.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100, blank=True)
    scopes = ArrayField(models.CharField(max_length=32), default=personal_token_scopes)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=personal_token_expiry)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A token is only ever a digest: 64 lowercase hex characters, never a `bo_...` token.
            models.CheckConstraint(
                condition=models.Q(digest__regex=r"^[0-9a-f]{64}$"), name="api_token_is_a_digest"
            ),
            models.CheckConstraint(
                condition=models.Q(scopes__contained_by=list(PERSONAL_TOKEN_SCOPES)),
                name="api_token_known_scopes",
            ),
        ]

    def __str__(self) -> str:
        return f"token {self.digest[:8]}… of {self.user}"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return "bo_" + secrets.token_urlsafe(32)


class OAuthIntegration(models.Model):
    """An organization's own server, signing in with OAuth2 client credentials.

    Its tokens act as `service_user`, a manager of `organization` and of nothing else, so every
    selector scoped to a user's organizations scopes the integration the same way.
    """

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="integration",
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="oauth_integrations"
    )
    service_user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="oauth_integration"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.application} for {self.organization}"


class AuditEntry(models.Model):
    """Who did what to which object, written in the same transaction as the change.

    Append-only: a database trigger refuses UPDATE and DELETE. Each row's `digest` is the
    SHA-256 of its content and the previous row's digest in the same chain (one chain per
    organization, one for rows without), so an edit made around the trigger shows up in
    `manage.py audit_verify` (accounts/audit.py).
    """

    GLOBAL_CHAIN = "global"

    # No database constraint and nothing done on delete: the trail keeps the id of who acted
    # even after that user or organization is gone (and a cascade could not touch the rows).
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    chain = models.CharField(max_length=40, default=GLOBAL_CHAIN)
    seq = models.BigIntegerField(default=0)
    prev_digest = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["organization", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="one_audit_row_per_chain_seq")
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"
