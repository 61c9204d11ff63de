from django.apps import AppConfig


class CheckinConfig(AppConfig):
    name = "checkin"
    verbose_name = "Check-in"
    default_auto_field = "django.db.models.BigAutoField"
