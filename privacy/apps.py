from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """A person's data: export, erasure, retention, marketing consent."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "privacy"
