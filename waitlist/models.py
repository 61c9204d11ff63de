import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from events.models import Event, TicketTier
from ticketing.models import Order


class WaitlistEntry(models.Model):
    """A person waiting for a sold-out tier (or for any tier of the event when `tier` is empty).

    First come, first served: ordered by `created_at`, ties broken by the ascending id.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a ticket")
        CONVERTED = "converted", _("Bought the offered ticket")
        EXPIRED = "expired", _("Let the offer lapse")
        LEFT = "left", _("Left")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="waitlist_entries")
    tier = models.ForeignKey(
        TicketTier, null=True, blank=True, on_delete=models.CASCADE, related_name="waitlist"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="waitlist_entries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event", "tier"],
                condition=Q(status="waiting"),
                nulls_distinct=False,  # one "any tier" entry per person and event, too
                name="one_waiting_entry_per_person_and_tier",
            )
        ]
        indexes = [
            models.Index(
                fields=["event", "tier", "created_at", "id"],
                condition=Q(status="waiting"),
                name="waitlist_queue",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} waiting for {self.tier or self.event}"


class Offer(models.Model):
    """One held seat offered to the head of a line, behind a one-time link.

    The seat is held by `order`, a pending order of the offered person that expires with the
    offer, so the gate and the inventory count it and nobody else can buy it.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        EXPIRED = "expired", _("Expired")
        DECLINED = "declined", _("Declined")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="waitlist_offers")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="waitlist_offers")
    tier = models.ForeignKey(TicketTier, on_delete=models.CASCADE, related_name="waitlist_offers")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="waitlist_offer")
    token = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    manual = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One open offer per place in line: a promotion run twice cannot offer twice.
            models.UniqueConstraint(
                fields=["entry"], condition=Q(status="open"), name="one_open_offer_per_entry"
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="open"), name="offer_open")
        ]

    def __str__(self) -> str:
        return f"Offer to {self.user} ({self.status})"
