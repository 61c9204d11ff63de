"""The audit trail listens: sign-ins, admin actions and payments announced by other apps.

Each receiver writes its row where the signal is sent: payments' `order_confirmed` is sent
inside the payment's transaction, so the row commits or rolls back with the payment.
"""

import re
from collections.abc import Callable
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest

from accounts.audit import address_digest
from accounts.models import ApiToken, Organization, User
from accounts.services import api_token_forget, audit_record
from accounts.signin_guard import signin_succeeded
from core.http import client_ip

ADMIN_ACTIONS = {1: "add", 2: "change", 3: "delete"}
EMAIL_SHAPED = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+")


def _without_addresses(text: str) -> str:
    """`text` with each email address replaced by a digest: the trail cannot be edited later,
    so it must never take in an address an erasure would have to remove (a user's name in the
    admin is their address)."""
    return EMAIL_SHAPED.sub(lambda m: "email:" + address_digest(m.group()), text)


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None and hasattr(request, "META") else None


def on_signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    signin_succeeded(email=user.email)  # whoever got in knows the password: the count restarts
    audit_record(actor=user, action="signin.success", target=user, ip=_ip(request))


def on_signed_out(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if user is not None and user.pk:
        audit_record(actor=user, action="signin.logout", target=user, ip=_ip(request))


def on_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    email = str(credentials.get("email") or credentials.get("username") or "").strip().lower()
    user = User.objects.filter(email__iexact=email).only("pk").first() if email else None
    # An unknown address is kept only as a digest: the trail must not collect other people's
    # email addresses (and erasure must find none).
    target: Any = user if user is not None else ("accounts.user", "")
    changes = {"via": credentials.get("via", "web")}
    if user is None and email:
        changes["email_sha256"] = address_digest(email)
    audit_record(
        actor=None, action="signin.failed", target=target, changes=changes, ip=_ip(request)
    )


def on_admin_action(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    model = instance.content_type.model_class() if instance.content_type else None
    audit_record(
        actor=instance.user,
        action=f"admin.{ADMIN_ACTIONS.get(instance.action_flag, 'action')}",
        target=(
            model._meta.label_lower if model is not None else "unknown",
            str(instance.object_id or "")[:64],
        ),
        changes={
            "repr": _without_addresses(instance.object_repr[:200]),
            "message": _without_addresses(instance.get_change_message()),
        },
    )


def on_order_confirmed(
    sender: Any,
    order_id: Any,
    buyer_id: Any = None,
    organization_id: Any = None,
    total: Any = None,
    currency: str | None = None,
    **kwargs: Any,
) -> None:
    from ticketing.models import Order

    if None in (buyer_id, organization_id, total, currency):  # not told: read the order
        buyer_id, organization_id, total, currency = Order.objects.values_list(
            "buyer_id", "event__organization_id", "total", "currency"
        ).get(pk=order_id)
    audit_record(
        actor=User(pk=buyer_id),
        action="order.pay",
        target=("ticketing.order", str(order_id)),
        organization=Organization(pk=organization_id),
        changes={"total": str(total), "currency": currency},
        # A payment is confirmed once, but the signal can be sent again (a redelivered provider
        # webhook, a reconciliation): the trail must still show one payment.
        once=True,
        spread=True,
    )


def on_mfa_change(verb: str) -> Callable[..., None]:
    def record(
        sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
    ) -> None:
        authenticator = kwargs.get("authenticator")
        audit_record(
            actor=user,
            action=f"mfa.{verb}",
            target=user,
            changes={"type": getattr(authenticator, "type", "")},
            ip=_ip(request),
        )

    return record


def on_token_holder_change(sender: Any, instance: User | ApiToken, **kwargs: Any) -> None:
    api_token_forget(user_id=instance.pk if isinstance(instance, User) else instance.user_id)


def connect() -> None:
    from allauth.mfa import signals as mfa

    from ticketing.signals import order_confirmed

    for signal, verb in (
        (mfa.authenticator_added, "added"),
        (mfa.authenticator_removed, "removed"),
        (mfa.authenticator_reset, "reset"),
    ):
        # weak=False: the receiver is made here and has no other reference to keep it alive.
        signal.connect(on_mfa_change(verb), weak=False, dispatch_uid=f"audit-mfa-{verb}")

    user_logged_in.connect(on_signed_in, dispatch_uid="audit-signin")
    user_logged_out.connect(on_signed_out, dispatch_uid="audit-signout")
    user_login_failed.connect(on_sign_in_failed, dispatch_uid="audit-signin-failed")
    post_save.connect(on_admin_action, sender=LogEntry, dispatch_uid="audit-admin")
    # Cached token lookups of this process (accounts.services._TokenLookups) go stale with a
    # revoked or deleted token, or a deactivated user.
    for model in (User, ApiToken):
        for change in (post_save, post_delete):
            change.connect(
                on_token_holder_change,
                sender=model,
                dispatch_uid=f"token-lookups-{model.__name__}-{change is post_save}",
            )
    order_confirmed.connect(on_order_confirmed, dispatch_uid="audit-payment")
