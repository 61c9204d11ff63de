"""Slowing password guessers: per account and per client address, for the login page and the API.

Only failures count. Per account (`signin_account`, e.g. 10 in 15 minutes): the address does not
matter, so changing X-Forwarded-For or using a botnet resets nothing; after a few free failures
each further attempt must wait twice as long as the last (progressive delay); at the limit the
account is locked until the window ends, and its owner gets an email with an unlock link.
Per address (`signin_address_ip`, e.g. 100 in 15 minutes): slows spraying one password across
many accounts, set high enough that an office behind one NAT address keeps signing in.
A success clears the account's count (whoever succeeds knows the password) but not the address's.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.signals import signin_paused
from core import ratelimit
from core.ratelimit import RateLimited

ACCOUNT = "signin_account"
ADDRESS = "signin_address_ip"
DELAY = "signin_delay"
LOCK_MAIL = "signin_lock_mail"
UNLOCK_SALT = "accounts.signin-unlock"


class SignInThrottled(RateLimited):
    message = _("Too many failed sign-ins. Try again later.")


def _account(email: str) -> str:
    return email.strip().lower()


def signin_check(*, email: str, address: str) -> None:
    """Raise SignInThrottled (with Retry-After) if this attempt must not be tried now."""
    account = _account(email)
    wait = ratelimit.exceeded(ACCOUNT, account)
    if wait:
        raise SignInThrottled(
            wait,
            "This account is locked after too many failed sign-ins. Try again in "
            f"{_minutes(wait)}, or use the unlock link we emailed to its owner.",
        )
    wait = ratelimit.exceeded(ADDRESS, address)
    if wait:
        raise SignInThrottled(
            wait, f"Too many failed sign-ins from your network. Try again in {_minutes(wait)}."
        )
    wait = ratelimit.held(DELAY, account)
    if wait:
        raise SignInThrottled(
            wait, f"Wrong password several times: wait {wait} s before the next attempt."
        )


def signin_failed(*, email: str, address: str) -> None:
    """Count a wrong password; start the back-off, and at the limit lock and send the link."""
    account = _account(email)
    ratelimit.hit(ADDRESS, address)
    ratelimit.hit(ACCOUNT, account)
    failures = ratelimit.count_of(ACCOUNT, account)
    free = settings.SIGNIN_FREE_FAILURES
    if failures > free:
        delay = min(
            settings.SIGNIN_DELAY_BASE_SECONDS * 2 ** (failures - free - 1),
            settings.SIGNIN_DELAY_MAX_SECONDS,
        )
        if delay > 0:
            ratelimit.hold(DELAY, account, delay)
    if failures >= ratelimit.policy(ACCOUNT).count and not ratelimit.hit(LOCK_MAIL, account):
        _send_unlock_link(account)


def signin_succeeded(*, email: str) -> None:
    account = _account(email)
    ratelimit.clear(ACCOUNT, account)
    ratelimit.clear(DELAY, account)


def signin_unlock(token: str) -> str | None:
    """Unlock the account a link was made for; its email, or None for a bad or old link."""
    try:
        account = signing.loads(token, salt=UNLOCK_SALT, max_age=ratelimit.policy(ACCOUNT).seconds)
    except signing.BadSignature:
        return None
    signin_succeeded(email=account)
    return str(account)


def unlock_url(account: str) -> str:
    token = signing.dumps(_account(account), salt=UNLOCK_SALT)
    return f"{settings.SITE_URL}{reverse('accounts:unlock')}?{urlencode({'token': token})}"


def _send_unlock_link(account: str) -> None:
    user_id = (
        User.objects.filter(email__iexact=account, is_active=True)
        .values_list("pk", flat=True)
        .first()
    )
    if user_id is None:
        return  # nobody to tell; the lock still ends with its window
    signin_paused.send(sender=User, user_id=user_id)


def unlock_minutes() -> str:
    """How long a paused account stays paused, in words."""
    return _minutes(ratelimit.policy(ACCOUNT).seconds)


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
