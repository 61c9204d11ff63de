"""A person's side: channel choices, phone number, unsubscribe links, the notification centre."""

from typing import Any

import phonenumbers
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import User
from accounts.services import audit_record
from notifications.errors import InvalidPhone, InvalidUnsubscribeLink
from notifications.models import Channel, Kind, MarketingConsent, Notification, Preference

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
CHOICE_FIELDS = [
    f"{kind}_{channel}"
    for kind in (Kind.REMINDER, Kind.UPDATE, Kind.MARKETING)
    for channel in (Channel.EMAIL, Channel.SMS, Channel.INAPP)
]


def phone_normalise(raw: str) -> str:
    """A mobile number in E.164 (`+4915123456789`), or InvalidPhone; empty stays empty."""
    raw = raw.strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone() from exc
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in mobile:
        raise InvalidPhone()
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def preference_for(user: User) -> Preference:
    """The person's preferences (the defaults if they never changed them)."""
    return Preference.objects.filter(user=user).first() or Preference(user=user)


@transaction.atomic(durable=True)
def preference_update(*, user: User, phone: str = "", **choices: bool) -> Preference:
    """Save channel choices per kind and the phone number (validated, stored as E.164)."""
    unknown = set(choices) - set(CHOICE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown preferences: {sorted(unknown)}")
    normalised = phone_normalise(phone)
    if not normalised and any(choices.get(f"{kind}_sms") for kind in Kind.values):
        raise InvalidPhone(gettext("Add a mobile number to get messages by SMS."))
    preference, _ = Preference.objects.select_for_update().get_or_create(user=user)
    preference.phone = normalised
    for name, value in choices.items():
        setattr(preference, name, bool(value))
    preference.save()
    return preference


def unsubscribe_token(user: User, kind: str) -> str:
    return signing.dumps({"u": user.pk, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[User, str]:
    """Who and which kind an unsubscribe link is for, or InvalidUnsubscribeLink."""
    try:
        data: dict[str, Any] = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user = User.objects.get(pk=data["u"])
        kind = Kind(data["k"])
    except (signing.BadSignature, User.DoesNotExist, KeyError, ValueError, TypeError) as exc:
        raise InvalidUnsubscribeLink() from exc
    if kind == Kind.TRANSACTIONAL:
        raise InvalidUnsubscribeLink()
    return user, kind


@transaction.atomic(durable=True)
def unsubscribe_apply(*, token: str) -> tuple[User, str]:
    """Stop email of one kind for the link's owner (List-Unsubscribe one-click lands here)."""
    user, kind = unsubscribe_read(token)
    preference, _ = Preference.objects.select_for_update().get_or_create(user=user)
    setattr(preference, f"{kind}_email", False)
    preference.save()
    return user, kind


def notification_open(*, user: User, notification_id: Any) -> Notification:
    """Mark one of the person's notifications read and return it (404 for anyone else's)."""
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at=None).update(read_at=timezone.now())
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the person read; returns how many."""
    return Notification.objects.filter(user=user, read_at=None).update(read_at=timezone.now())


MARKETING_CONSENT_WORDING = gettext_noop(
    "Send me news and offers about events on Boxoffice, by the channels I chose for them. "
    "I can withdraw this at any time."
)


def marketing_consent_current(user: User) -> MarketingConsent | None:
    return MarketingConsent.objects.filter(user=user, withdrawn_at=None).first()


@transaction.atomic(durable=True)
def marketing_consent_set(
    *, user: User, given: bool, source: str, ip: str | None = None
) -> MarketingConsent | None:
    """Record that `user` gives (or withdraws) marketing consent, when and where; the open
    consent afterwards (None when withdrawn). Giving it twice keeps the first record."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one change at a time
    current = marketing_consent_current(user)
    now = timezone.now()
    if given and current is None:
        current = MarketingConsent.objects.create(
            user=user,
            given_at=now,
            source=source,
            wording=gettext(MARKETING_CONSENT_WORDING),
        )
        audit_record(
            actor=user,
            action="privacy.consent_give",
            target=current,
            changes={"source": source},
            ip=ip,
        )
    elif not given and current is not None:
        current.withdrawn_at, current.withdrawn_source = now, source
        current.save(update_fields=["withdrawn_at", "withdrawn_source"])
        audit_record(
            actor=user,
            action="privacy.consent_withdraw",
            target=current,
            changes={"source": source},
            ip=ip,
        )
        current = None
    return current
