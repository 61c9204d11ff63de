"""Waitlists and offers (issue 6)."""

from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "waitlist"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ticketing.booking.releases import waiting_counter_register
        from waitlist import receivers  # noqa: F401 - connects the listeners
        from waitlist.services import waiting_counts

        # Released seats of a tier with people waiting are set aside for them, not sold.
        waiting_counter_register(waiting_counts)
