"""Summary tables and organizer dashboards refreshed by Celery beat (later issues)."""

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
