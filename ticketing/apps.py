from django.apps import AppConfig


class TicketingConfig(AppConfig):
    name = "ticketing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ticketing import receivers  # noqa: F401 - connects the listeners
