"""Thin Celery wrappers: ids in, one service call each; safe to run twice."""

from celery import shared_task
from django.core.mail import send_mail

from accounts.models import User
from accounts.services import organization_logo_variants_build
from accounts.signin_guard import unlock_mail_body


@shared_task
def organization_logo_process(organization_id: str) -> None:
    organization_logo_variants_build(organization_id=organization_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_unlock_mail(account: str) -> None:
    """Tell the owner of a locked account, with a link that unlocks it."""
    if not User.objects.filter(email__iexact=account, is_active=True).exists():
        return  # nobody to tell; the lock still ends with its window
    send_mail("Your Boxoffice sign-in is paused", unlock_mail_body(account), None, [account])
