"""Retention: attendee data of events that ended longer ago than the organization keeps it.

Each organization sets a period (RetentionPolicy; PRIVACY_DEFAULT_RETENTION_DAYS when unset).
A beat job (privacy.tasks.retention_apply, also `manage.py retention_apply`) anonymizes each
event past it once: the names printed on its tickets and orders and the addresses its tickets
were sent to. Amounts, dates, invoices and the buyers' own accounts stay. Each pass that did
something leaves a RetentionRun the owners read, and a log line.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import audit_record
from events.models import Event
from privacy.erasure import ERASED_DOMAIN
from privacy.models import AnonymizedEvent, RetentionPolicy, RetentionRun
from ticketing.models import Order, Ticket, Transfer

logger = logging.getLogger(__name__)
ANONYMIZED_NAME = "Anonymized attendee"


def retention_days(organization: Organization) -> int:
    policy = RetentionPolicy.objects.filter(organization=organization).first()
    return policy.days if policy else settings.PRIVACY_DEFAULT_RETENTION_DAYS


@transaction.atomic(durable=True)
def retention_policy_set(*, actor: User, organization: Organization, days: int) -> RetentionPolicy:
    """Keep attendee data of `organization`'s events `days` days after they end."""
    before = retention_days(organization)
    policy, _ = RetentionPolicy.objects.update_or_create(
        organization=organization, defaults={"days": days}
    )
    audit_record(
        actor=actor,
        action="privacy.retention",
        target=organization,
        organization=organization,
        changes={"days": [before, days]},
    )
    return policy


def _events_due(organization: Organization, cutoff: datetime) -> list[Event]:
    done = AnonymizedEvent.objects.values("event_id")
    return list(
        Event.objects.filter(organization=organization, ends_at__lt=cutoff)
        .exclude(pk__in=done)
        .order_by("ends_at", "pk")
    )


@transaction.atomic(durable=True)
def _organization_apply(organization: Organization, now: datetime) -> RetentionRun | None:
    days = retention_days(organization)
    events = _events_due(organization, now - timedelta(days=days))
    if not events:
        return None
    run = RetentionRun.objects.create(organization=organization, days=days)
    for event in events:
        tickets = (
            Ticket.objects.filter(event=event)
            .exclude(attendee_name=ANONYMIZED_NAME)
            .update(attendee_name=ANONYMIZED_NAME)
        )
        orders = (
            Order.objects.filter(event=event).exclude(attendee_names=[]).update(attendee_names=[])
        )
        transfers = (
            Transfer.objects.filter(ticket__event=event)
            .exclude(to_email__endswith="@" + ERASED_DOMAIN)
            .update(
                to_email=Concat(
                    Value("anonymized-"),
                    Cast(F("pk"), CharField()),
                    Value("@" + ERASED_DOMAIN),
                    output_field=CharField(),
                )
            )
        )
        AnonymizedEvent.objects.create(
            event=event, run=run, tickets=tickets, orders=orders, transfers=transfers
        )
        run.tickets += tickets
        run.orders += orders
        run.transfers += transfers
    run.event_count = len(events)
    run.save()
    audit_record(
        actor=None,
        action="privacy.retention_run",
        target=run,
        organization=organization,
        changes={
            "days": days,
            "events": [str(e.pk) for e in events],
            "tickets": run.tickets,
            "orders": run.orders,
            "transfers": run.transfers,
        },
    )
    return run


def retention_apply(*, now: datetime | None = None) -> list[RetentionRun]:
    """Anonymize attendee data of every event past its organization's retention; the runs."""
    now = now or timezone.now()
    runs = []
    # Organizations with some event not yet anonymized that ended before the shortest period.
    shortest = min(
        [
            settings.PRIVACY_DEFAULT_RETENTION_DAYS,
            *list(RetentionPolicy.objects.values_list("days", flat=True)),
        ]
    )
    candidates = (
        Event.objects.filter(ends_at__lt=now - timedelta(days=shortest))
        .exclude(pk__in=AnonymizedEvent.objects.values("event_id"))
        .values_list("organization_id", flat=True)
        .distinct()
    )
    for organization in Organization.objects.filter(pk__in=candidates).order_by("pk"):
        run = _organization_apply(organization, now)
        if run is not None:
            runs.append(run)
            logger.info(
                "Retention anonymized attendee data",
                extra=_log_fields(run),
            )
    return runs


def _log_fields(run: RetentionRun) -> dict[str, Any]:
    return {
        "organization": str(run.organization_id),
        "retention_days": run.days,
        "events": run.event_count,
        "tickets": run.tickets,
        "orders": run.orders,
        "transfers": run.transfers,
    }
