"""A person's data export: everything their account holds, as a zip of JSON and CSV.

`export_request` records the request (audited) and hands it to Celery; `export_build` collects
one section after another, storing its progress for the page to poll, then the zip; the person
gets a mail (through the outbox) with a signed link that expires. The download itself needs
both the link and the person's own session, and is audited too.
"""

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry, Membership, User
from accounts.services import audit_record
from events.models import Feedback
from notifications.models import MarketingConsent, Notification, Preference
from notifications.services import data_export_ready_record
from privacy.errors import ExportLinkInvalid, ExportNotFound
from privacy.models import DataExport
from ticketing.models import Order, Payment, Refund, Ticket, Transfer
from waitlist.models import WaitlistEntry

LINK_SALT = "privacy.export.download"

Rows = list[dict[str, Any]]


def _profile(user: User) -> Rows:
    return [
        {
            "email": user.email,
            "full_name": user.full_name,
            "language": user.language,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "email_addresses": list(
                EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
            ),
            "memberships": [
                {"organization": m.organization.name, "role": m.role, "since": m.created_at}
                for m in Membership.objects.filter(user=user).select_related("organization")
            ],
        }
    ]


def _orders(user: User) -> Rows:
    orders = Order.objects.filter(buyer=user).select_related("event").prefetch_related("lines")
    return [
        {
            "ref": o.ref,
            "id": o.pk,
            "event": o.event.title,
            "status": o.status,
            "total": o.total,
            "currency": o.currency,
            "created_at": o.created_at,
            "paid_at": o.paid_at,
            "attendee_names": o.attendee_names,
            "lines": [
                {"tier": line.tier_id, "quantity": line.quantity, "unit_price": line.unit_price}
                for line in o.lines.all()
            ],
        }
        for o in orders.order_by("created_at")
    ]


def _tickets(user: User) -> Rows:
    tickets = Ticket.objects.filter(Q(holder=user) | Q(order__buyer=user)).select_related(
        "event", "tier", "seat"
    )
    return [
        {
            "ref": t.ref,
            "event": t.event.title,
            "starts_at": t.event.starts_at,
            "tier": t.tier.name,
            "seat": t.seat.label if t.seat is not None else "",
            "attendee_name": t.attendee_name,
            "status": t.status,
            "yours": t.holder_id == user.pk,
            "issued_at": t.issued_at,
        }
        for t in tickets.order_by("issued_at", "pk")
    ]


def _payments(user: User) -> Rows:
    payments = [
        {
            "kind": "payment",
            "order": p.order_id,
            "amount": p.amount,
            "currency": p.currency,
            "status": p.status,
            "at": p.created_at,
        }
        for p in Payment.objects.filter(buyer=user).order_by("created_at")
    ]
    refunds = [
        {
            "kind": "refund",
            "order": r.order_id,
            "amount": r.amount,
            "currency": r.currency,
            "status": r.status,
            "at": r.created_at,
        }
        for r in Refund.objects.filter(order__buyer=user).order_by("created_at")
    ]
    return payments + refunds


def _transfers(user: User) -> Rows:
    transfers = Transfer.objects.filter(Q(sender=user) | Q(recipient=user)).select_related(
        "ticket__event"
    )
    return [
        {
            "event": t.ticket.event.title,
            "direction": "sent" if t.sender_id == user.pk else "received",
            "to_email": t.to_email,
            "status": t.status,
            "created_at": t.created_at,
            "decided_at": t.decided_at,
        }
        for t in transfers.order_by("created_at")
    ]


def _feedback(user: User) -> Rows:
    return [
        {
            "event": f.event.title,
            "rating": f.rating,
            "comment": f.comment,
            "created_at": f.created_at,
            "organizer_reply": getattr(getattr(f, "reply", None), "body", ""),
        }
        for f in Feedback.objects.filter(author=user).select_related("event", "reply")
    ]


def _notifications(user: User) -> Rows:
    preference = Preference.objects.filter(user=user).first()
    rows: Rows = [
        {
            "kind": "notification",
            "title": n.title,
            "body": n.body,
            "created_at": n.created_at,
            "read_at": n.read_at,
        }
        for n in Notification.objects.filter(user=user).order_by("created_at")
    ]
    if preference is not None:
        choices = {f.name: getattr(preference, f.name) for f in Preference._meta.concrete_fields}
        choices.pop("id", None)
        choices.pop("user", None)
        rows.append({"kind": "preferences", "body": choices})
    rows += [
        {
            "kind": "marketing_consent",
            "body": c.wording,
            "created_at": c.given_at,
            "source": c.source,
            "read_at": c.withdrawn_at,
        }
        for c in MarketingConsent.objects.filter(user=user).order_by("given_at")
    ]
    return rows


def _waitlist(user: User) -> Rows:
    return [
        {"event": w.event.title, "status": w.status, "created_at": w.created_at}
        for w in WaitlistEntry.objects.filter(user=user).select_related("event")
    ]


def _audit(user: User) -> Rows:
    entries = AuditEntry.objects.filter(
        Q(actor=user) | Q(target_type="accounts.user", target_id=str(user.pk))
    ).order_by("created_at", "pk")
    return [
        {
            "at": e.created_at,
            "action": e.action,
            "target": f"{e.target_type}:{e.target_id}",
            "changes": e.changes,
            "ip": e.ip,
        }
        for e in entries
    ]


# Each section becomes <name>.json and <name>.csv in the zip, in this order.
SECTIONS: list[tuple[str, Callable[[User], Rows]]] = [
    ("profile", _profile),
    ("orders", _orders),
    ("tickets", _tickets),
    ("payments", _payments),
    ("transfers", _transfers),
    ("feedback", _feedback),
    ("notifications", _notifications),
    ("waitlist", _waitlist),
    ("audit", _audit),
]


def _json(rows: Rows) -> str:
    return json.dumps(rows, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def _csv(rows: Rows) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                key: json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
                if isinstance(value, dict | list)
                else ("" if value is None else value)
                for key, value in row.items()
            }
        )
    return out.getvalue()


def _zip(sections: Iterable[tuple[str, Rows]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        readme = (
            f"Your Boxoffice data, as of {timezone.now().isoformat()}.\n"
            "Each part comes twice: <part>.json (complete) and <part>.csv (for spreadsheets;\n"
            "nested values as JSON).\n"
        )
        archive.writestr("README.txt", readme)
        for name, rows in sections:
            archive.writestr(f"{name}.json", _json(rows))
            archive.writestr(f"{name}.csv", _csv(rows))
    return buffer.getvalue()


@transaction.atomic(durable=True)
def export_request(*, user: User, ip: str | None = None) -> DataExport:
    """A new export of `user`'s data, built by a worker (or the one already on its way)."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time
    running = DataExport.objects.filter(
        user=user, status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING]
    ).first()
    if running is not None:
        return running
    export = DataExport.objects.create(user=user)
    audit_record(actor=user, action="privacy.export_request", target=export, ip=ip)
    from privacy.tasks import export_build_task

    export_id = str(export.pk)
    transaction.on_commit(lambda: export_build_task.delay(export_id))
    return export


def export_link(export: DataExport) -> str:
    """The download path with its signed token (valid PRIVACY_EXPORT_LINK_HOURS)."""
    token = signing.dumps({"e": str(export.pk)}, salt=LINK_SALT)
    return reverse("privacy:export_download", kwargs={"export_id": export.pk}) + f"?t={token}"


def export_build(*, export_id: Any) -> DataExport:
    """Collect every section (progress stored after each), zip them, and mail the link.

    Safe to run twice: a finished export is left as it is.
    """
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(pk=export_id, status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING])
            .first()
        )
        if export is None:
            return DataExport.objects.get(pk=export_id)
        export.status = DataExport.Status.RUNNING
        export.save(update_fields=["status"])
    collected: list[tuple[str, Rows]] = []
    for done, (name, collect) in enumerate(SECTIONS, start=1):
        collected.append((name, collect(export.user)))
        # The last percent is the zip and the mail.
        progress = min(99, done * 100 // len(SECTIONS))
        DataExport.objects.filter(pk=export.pk).update(progress=progress)
    archive = _zip(collected)
    now = timezone.now()
    with transaction.atomic(durable=True):
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.READY,
            progress=100,
            archive=archive,
            size=len(archive),
            finished_at=now,
            expires_at=now + timedelta(hours=settings.PRIVACY_EXPORT_LINK_HOURS),
        )
        data_export_ready_record(
            export_id=export.pk, user_id=export.user_id, link=export_link(export)
        )
    export.refresh_from_db()
    return export


def export_download(*, user: User, export_id: Any, token: str, ip: str | None = None) -> DataExport:
    """The ready export behind a valid, unexpired link, for its own person only; audited."""
    max_age = timedelta(hours=settings.PRIVACY_EXPORT_LINK_HOURS)
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except signing.BadSignature as exc:  # SignatureExpired is one too
        raise ExportLinkInvalid() from exc
    if str(data.get("e")) != str(export_id):
        raise ExportLinkInvalid()
    export = DataExport.objects.filter(pk=export_id, user=user).first()
    if export is None:
        raise ExportNotFound()
    if export.status != DataExport.Status.READY or (
        export.expires_at is not None and export.expires_at <= timezone.now()
    ):
        raise ExportLinkInvalid()
    with transaction.atomic(durable=True):
        audit_record(actor=user, action="privacy.export_download", target=export, ip=ip)
    return export


def exports_expire(*, now: Any = None) -> int:
    """Drop the archives of exports whose link expired; how many."""
    return DataExport.objects.filter(
        status=DataExport.Status.READY, expires_at__lte=now or timezone.now()
    ).update(status=DataExport.Status.EXPIRED, archive=None)
