"""The outbox (Message), one Delivery per (message, channel, recipient), and what feeds them.

A Message is written in the same transaction as the change it reports; everything after that is
done by Celery from these rows, so a lost task or a dead broker delays a message but never loses
it, and the unique delivery key means a task run twice sends once.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from core.sealed import WEBHOOK_SECRETS, seal, unseal
from events.models import Event


class Kind(models.TextChoices):
    """What a person can choose channels for; transactional mail always goes by email."""

    TRANSACTIONAL = "transactional", _("Tickets and refunds")
    REMINDER = "reminder", _("Reminders")
    UPDATE = "update", _("Event changes")
    MARKETING = "marketing", _("News and offers")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    INAPP = "inapp", _("In the app")
    WEBHOOK = "webhook", _("Webhook")


class Topic(models.TextChoices):
    ORDER_CONFIRMED = "order.confirmed", _("Order confirmed")
    ORDER_REFUNDED = "order.refunded", _("Order refunded")
    TICKET_CHECKED_IN = "ticket.checked_in", _("Ticket checked in")
    EVENT_CHANGED = "event.changed", _("Event changed")
    EVENT_CANCELLED = "event.cancelled", _("Event cancelled")
    EVENT_REMINDER = "event.reminder", _("Event reminder")
    SESSION_CHANGED = "session.changed", _("Session changed")
    WAITLIST_OFFER = "waitlist.offer", _("Waitlist offer")
    WAITLIST_EVENT_CANCELLED = "waitlist.event_cancelled", _("Event cancelled (to its waitlist)")
    TRANSFER_OFFERED = "transfer.offered", _("Ticket sent to someone")
    TRANSFER_ACCEPTED = "transfer.accepted", _("Sent ticket accepted")
    WEBHOOK_TEST = "webhook.test", _("Webhook test")
    DATA_EXPORT_READY = "privacy.export_ready", _("Your data export is ready")
    ACCOUNT_ERASED = "privacy.account_erased", _("Your account was erased")
    SIGNIN_PAUSED = "account.signin_paused", _("Sign-ins to your account are paused")
    MARKETING_NEWS = "marketing.news", _("News and offers")
    # Sent by an organizer to chosen attendees; never offered to webhooks (nothing changed).
    ORGANIZER_MESSAGE = "organizer.message", _("Message from the organizer")
    TICKETS_RESENT = "tickets.resent", _("Tickets sent again")


# What organizers may subscribe an endpoint to.
WEBHOOK_TOPICS = [
    Topic.ORDER_CONFIRMED,
    Topic.ORDER_REFUNDED,
    Topic.TICKET_CHECKED_IN,
    Topic.EVENT_CHANGED,
    Topic.EVENT_CANCELLED,
]

TOPIC_KIND = {
    Topic.ORDER_CONFIRMED: Kind.TRANSACTIONAL,
    Topic.ORDER_REFUNDED: Kind.TRANSACTIONAL,
    # Money is involved (what happens to it is the point of the message): always by email.
    Topic.EVENT_CANCELLED: Kind.TRANSACTIONAL,
    Topic.EVENT_CHANGED: Kind.UPDATE,
    Topic.EVENT_REMINDER: Kind.REMINDER,
    Topic.SESSION_CHANGED: Kind.UPDATE,
    # A held ticket, a ticket on its way, a ticket gone: each one is about a ticket.
    Topic.WAITLIST_OFFER: Kind.TRANSACTIONAL,
    Topic.WAITLIST_EVENT_CANCELLED: Kind.TRANSACTIONAL,
    Topic.TRANSFER_OFFERED: Kind.TRANSACTIONAL,
    Topic.TRANSFER_ACCEPTED: Kind.TRANSACTIONAL,
    Topic.TICKET_CHECKED_IN: Kind.TRANSACTIONAL,
    Topic.WEBHOOK_TEST: Kind.TRANSACTIONAL,
    Topic.DATA_EXPORT_READY: Kind.TRANSACTIONAL,
    Topic.ACCOUNT_ERASED: Kind.TRANSACTIONAL,
    Topic.SIGNIN_PAUSED: Kind.TRANSACTIONAL,
    # Goes only to people with a recorded consent (MarketingConsent), whatever their channels.
    Topic.MARKETING_NEWS: Kind.MARKETING,
    # What the organizer has to say about the event: the person's channels for event news.
    Topic.ORGANIZER_MESSAGE: Kind.UPDATE,
    Topic.TICKETS_RESENT: Kind.TRANSACTIONAL,
}


class Audience(models.TextChoices):
    """Who the message is for; resolved to recipients when the message is fanned out."""

    USER = "user", _("One person")
    ORDER = "order", _("The buyer of an order (and the organization's webhooks)")
    EVENT_HOLDERS = "holders", _("Every ticket holder of the event")
    SESSION = "session", _("The event's ticket holders and whoever starred the session")
    EVENT_WAITLIST = "waitlist", _("Everyone waiting for the event who holds no ticket")
    ADDRESS = "address", _("One email address, perhaps of nobody with an account yet")
    ORGANIZATION = "org", _("The organization's webhooks only")
    ENDPOINT = "endpoint", _("One webhook endpoint (a test)")


class Message(models.Model):
    """An outbox row: something happened that somebody must hear about."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be fanned out")
        FANNED_OUT = "fanned", _("Deliveries created")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    topic = models.CharField(max_length=40, choices=Topic.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    # The same change reported twice (a beat run repeated, a receiver called twice) collides here.
    dedupe_key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE)
    endpoint = models.ForeignKey(
        "WebhookEndpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], name="message_pending", condition=Q(status="pending")
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.dedupe_key}"

    @property
    def kind(self) -> str:
        return TOPIC_KIND[Topic(self.topic)]


# A delivery's recipient that starts with this is an address sealed for ERASED_ADDRESS.
SEALED_RECIPIENT = "sealed:"


class Delivery(models.Model):
    """One message to one recipient over one channel; (message, channel, recipient) is unique."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        RETRY = "retry", _("Waiting to retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # An email address, a phone number, a user id (in-app) or a webhook endpoint id.
    # An address, a phone number, a user or endpoint id, or an erased account's sealed address.
    recipient = models.CharField(max_length=500)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    endpoint = models.ForeignKey(
        "WebhookEndpoint",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "channel", "recipient"], name="delivery_once_per_recipient"
            )
        ]
        indexes = [
            # The re-dispatcher's scan: only rows not finished yet.
            models.Index(
                fields=["status", "created_at"],
                name="delivery_open",
                condition=Q(status__in=["pending", "sending", "retry"]),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_log"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.status}"


class DeliveryAttempt(models.Model):
    """The delivery log: every try, its response code and error (append-only)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.response_code or self.error}"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def new_sealed_webhook_secret() -> str:
    return seal(new_webhook_secret(), purpose=WEBHOOK_SECRETS)


class WebhookEndpoint(models.Model):
    """Where an organization wants to hear about its events, and which topics."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    topics = models.JSONField(default=list)
    # Sealed at rest (core.sealed): a copy of the database alone cannot forge our signatures.
    secret_sealed = models.CharField(max_length=500, default=new_sealed_webhook_secret)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        """The signing secret, shown to the organizer and used to sign each delivery."""
        return unseal(self.secret_sealed, purpose=WEBHOOK_SECRETS)

    @secret.setter
    def secret(self, plain: str) -> None:
        self.secret_sealed = seal(plain, purpose=WEBHOOK_SECRETS)


class Notification(models.Model):
    """An entry in a person's notification centre."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="notification_once")
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_feed"),
            # The navigation's unread count reads only this small index.
            models.Index(fields=["user"], name="notification_unread", condition=Q(read_at=None)),
        ]

    def __str__(self) -> str:
        return self.title


class Preference(models.Model):
    """A person's channels per kind of message, and the phone number SMS goes to."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +4915123456789")
    reminder_email = models.BooleanField(default=True)
    reminder_sms = models.BooleanField(default=False)
    reminder_inapp = models.BooleanField(default=True)
    update_email = models.BooleanField(default=True)
    update_sms = models.BooleanField(default=False)
    update_inapp = models.BooleanField(default=True)
    marketing_email = models.BooleanField(default=False)
    marketing_sms = models.BooleanField(default=False)
    marketing_inapp = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"

    def channels_for(self, kind: str) -> set[str]:
        """The channels a message of `kind` goes out on for this person."""
        if kind == Kind.TRANSACTIONAL:
            return {str(Channel.EMAIL), str(Channel.INAPP)}
        chosen: set[str] = {
            channel
            for channel in (Channel.EMAIL, Channel.SMS, Channel.INAPP)
            if getattr(self, f"{kind}_{channel}", False)
        }
        if not self.phone:
            chosen.discard(Channel.SMS)
        return chosen


class ReminderSchedule(models.Model):
    """When an event's reminders go out, in minutes before its start (default 24 h and 2 h)."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="reminder_schedule")
    offsets_minutes = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"reminders of {self.event_id}: {self.offsets_minutes}"


class MarketingConsent(models.Model):
    """A person's consent to marketing messages: when, and where it was given (the proof).

    One row per consent given; withdrawing stamps the row, so the history stays. Marketing goes
    only to people whose latest row is not withdrawn (`notifications.services._person_targets`).
    """

    class Source(models.TextChoices):
        SETTINGS_PAGE = "settings_page", _("The privacy settings page")
        SIGNUP = "signup", _("The sign-up form")
        API = "api", _("The API")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="marketing_consents"
    )
    given_at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=Source.choices)
    # The sentence the person agreed to, as shown then (wording changes; the proof must not).
    wording = models.TextField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_source = models.CharField(max_length=20, choices=Source.choices, blank=True)

    class Meta:
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(withdrawn_at=None), name="one_open_marketing_consent"
            )
        ]

    def __str__(self) -> str:
        return f"marketing consent of {self.user_id} since {self.given_at:%Y-%m-%d}"
