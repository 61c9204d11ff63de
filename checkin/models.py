import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from events.models import Event, TicketTier
from ticketing.models import Ticket


class SigningKey(models.Model):
    """An event's Ed25519 key. The private half is stored encrypted and never leaves the server."""

    kid = models.CharField(max_length=8, unique=True, help_text=_("4 random bytes, hex"))
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
        TicketTier, blank=True, help_text=_("Tiers admitted here; none selected admits every tier.")
    )
    allow_reentry = models.BooleanField(
        default=False, help_text=_("Exit scans let a ticket back in (once per exit).")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "name"]
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="unique_list_name_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.event})"


class DeviceLink(models.Model):
    """A revocable scanner link for one list of one event, for a volunteer without an account.

    Only the token's SHA-256 is stored; the link (which holds the token) is shown once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    checkin_list = models.ForeignKey(
        CheckinList, on_delete=models.CASCADE, related_name="device_links"
    )
    label = models.CharField(max_length=100)
    token_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"device link {self.label}"


class Scan(models.Model):
    """Every scan attempt, admitted or rejected, online or synced from an offline device.

    Append-only: a later decision (an earlier offline scan taking an admission over) is a new
    row pointing at the one it contradicts (`conflict_with`), never an edit.
    """

    class Result(models.TextChoices):
        ADMITTED = "admitted", _("Admitted")
        ALREADY_USED = "already_used", _("Already used")
        EXITED = "exited", _("Exited")
        REJECTED = "rejected", _("Rejected")

    class Direction(models.TextChoices):
        ENTRY = "in", _("Entry")
        EXIT = "out", _("Exit")

    # Every scan writes this row, so it carries only the indexes something reads: a list's log
    # (scan_list_received also serves the foreign key), a ticket's scans, conflicts, and the
    # client scan id that makes sync idempotent. Its references are not database foreign keys:
    # each one would lock the referenced row at commit, and every gate's scans would queue on
    # the same list and user rows. The log only ever gains rows (the ORM's PROTECT still
    # refuses to delete a list or ticket that has scans); Admission keeps its ticket and scan
    # constraints.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    checkin_list = models.ForeignKey(
        CheckinList,
        on_delete=models.PROTECT,
        related_name="scans",
        db_index=False,
        db_constraint=False,
    )
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.PROTECT, db_constraint=False
    )
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.ENTRY)
    result = models.CharField(max_length=15, choices=Result.choices)
    reason = models.CharField(max_length=30)
    device_id = models.CharField(max_length=64, blank=True)
    scanned_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
    )
    device_link = models.ForeignKey(
        DeviceLink,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        db_constraint=False,
    )
    payload_excerpt = models.CharField(max_length=64, blank=True)
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    # Offline scans: the device's own id for the scan (sync is idempotent by it) and what the
    # device showed the door. A device that admitted what the server would not is a conflict.
    client_scan_id = models.UUIDField(null=True, blank=True)
    local_result = models.CharField(max_length=15, blank=True)
    conflict = models.BooleanField(default=False)
    conflict_with = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["-scanned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client_scan_id"],
                condition=Q(client_scan_id__isnull=False),
                name="one_scan_per_client_scan_id",
            )
        ]
        indexes = [
            models.Index(fields=["checkin_list", "-received_at"], name="scan_list_received"),
            models.Index(
                fields=["checkin_list", "-scanned_at"],
                condition=Q(conflict=True),
                name="scan_list_conflicts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.result} {self.reason} at {self.scanned_at:%H:%M:%S}"


class Admission(models.Model):
    """A ticket let in through a list. The unique constraint is what makes admission once-only."""

    # The unique (ticket, list) index serves lookups by ticket too.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="admissions", db_index=False
    )
    # Not a database foreign key, for the reason given on Scan: every admission would lock the
    # one list row.
    checkin_list = models.ForeignKey(CheckinList, on_delete=models.PROTECT, db_constraint=False)
    scan = models.OneToOneField(Scan, on_delete=models.PROTECT)
    admitted_at = models.DateTimeField()
    # Re-entry lists: an exit scan clears it, the next entry sets it again.
    inside = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "checkin_list"], name="one_admission_per_ticket_and_list"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} admitted {self.admitted_at}"
