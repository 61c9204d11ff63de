"""A sale's virtual waiting room: whether it is on, and how fast it lets people through."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from events.models import Event


class WaitingRoom(models.Model):
    class Mode(models.TextChoices):
        OFF = "off", _("Off")
        ON = "on", _("On")
        AUTO = "auto", _("On when arrivals exceed a rate")

    class Pace(models.TextChoices):
        FIXED = "fixed", _("At the rate I set")
        CHECKOUT = "checkout", _("At the rate checkout completes")

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="waiting_room")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.OFF)
    pace = models.CharField(max_length=8, choices=Pace.choices, default=Pace.FIXED)
    # Who arrives before this moment is shuffled into a random order when it comes.
    opens_at = models.DateTimeField()
    admit_per_minute = models.PositiveIntegerField(default=600)
    # AUTO: the room switches itself on when more than this many buyers arrive in a minute.
    auto_arrivals_per_minute = models.PositiveIntegerField(default=1200)
    token_minutes = models.PositiveIntegerField(default=15)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(admit_per_minute__gte=1), name="waitingroom_admits_someone"
            ),
            models.CheckConstraint(
                condition=models.Q(token_minutes__gte=1), name="waitingroom_token_lasts"
            ),
        ]

    def __str__(self) -> str:
        return f"Waiting room of {self.event_id} ({self.mode})"
