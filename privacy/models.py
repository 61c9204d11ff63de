"""A person's data exports, each organization's retention period, and what retention did."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from events.models import Event


class DataExport(models.Model):
    """One download of everything a person's account holds, built by a Celery job."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Being collected")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent, shown while it runs
    # The zip itself: small (one person's rows), private (never under MEDIA_URL) and gone with
    # the account or when its link expires.
    archive = models.BinaryField(null=True, blank=True, editable=False)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.status})"


class RetentionPolicy(models.Model):
    """How long an organization keeps attendee data after its events end."""

    organization = models.OneToOneField(
        Organization, primary_key=True, on_delete=models.CASCADE, related_name="retention"
    )
    days = models.PositiveIntegerField(help_text=_("Days after an event ends."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"
        constraints = [models.CheckConstraint(condition=Q(days__gte=1), name="retention_days_min")]

    def __str__(self) -> str:
        return f"{self.organization}: {self.days} days"


class AnonymizedEvent(models.Model):
    """An event whose attendee data retention has anonymized (each event once)."""

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey("RetentionRun", on_delete=models.CASCADE, related_name="events")
    tickets = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    transfers = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"anonymized {self.event_id}"


class RetentionRun(models.Model):
    """What one retention pass did for one organization (owners read it on their page)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="retention_runs"
    )
    ran_at = models.DateTimeField(auto_now_add=True)
    days = models.PositiveIntegerField()
    event_count = models.PositiveIntegerField(default=0)
    tickets = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    transfers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"retention of {self.organization_id} at {self.ran_at:%Y-%m-%d %H:%M}"
