import uuid

from django.db import models
from django.db.models import Q

from accounts.models import User
from events.models import Event, TicketTier
from ticketing.models import Ticket


class SigningKey(models.Model):
    """An event's Ed25519 key. The private half is stored encrypted and never leaves the server."""

    kid = models.CharField(max_length=8, unique=True, help_text="4 random bytes, hex")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="signing_keys")
    public_key = models.BinaryField(max_length=32)
    private_key_encrypted = models.TextField(editable=False)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=Q(is_current=True), name="one_current_key_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"key {self.kid} of {self.event_id}"


class CheckinList(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="checkin_lists")
    name = models.CharField(max_length=100)
    tiers = models.ManyToManyField(
        TicketTier, blank=True, help_text="Tiers admitted here; none selected admits every tier."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "name"]
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="unique_list_name_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.event})"


class Scan(models.Model):
    """Every scan attempt, admitted or rejected. Append-only."""

    class Result(models.TextChoices):
        ADMITTED = "admitted", "Admitted"
        ALREADY_USED = "already_used", "Already used"
        REJECTED = "rejected", "Rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    checkin_list = models.ForeignKey(CheckinList, on_delete=models.PROTECT, related_name="scans")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.PROTECT)
    result = models.CharField(max_length=15, choices=Result.choices)
    reason = models.CharField(max_length=30)
    device_id = models.CharField(max_length=64, blank=True)
    scanned_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    payload_excerpt = models.CharField(max_length=64, blank=True)
    scanned_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-scanned_at"]

    def __str__(self) -> str:
        return f"{self.result} {self.reason} at {self.scanned_at:%H:%M:%S}"


class Admission(models.Model):
    """A ticket let in through a list. The unique constraint is what makes admission once-only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="admissions")
    checkin_list = models.ForeignKey(CheckinList, on_delete=models.PROTECT)
    scan = models.OneToOneField(Scan, on_delete=models.PROTECT)
    admitted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "checkin_list"], name="one_admission_per_ticket_and_list"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} admitted {self.admitted_at}"
