"""Waitlists and offers (issue 6). Registered now so its place in the layout is fixed."""

from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "waitlist"
    default_auto_field = "django.db.models.BigAutoField"
