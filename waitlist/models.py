from django.db import models
from django.db.models import Q

from accounts.models import User
from events.models import Event, TicketTier


class WaitlistEntry(models.Model):
    """A person waiting for a sold-out tier (or for any tier of the event when `tier` is empty).

    First come, first served: ordered by `created_at`, ties broken by the ascending id.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        LEFT = "left", "Left"

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
