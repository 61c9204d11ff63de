import hashlib
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.selectors import organizations_with_door_access
from checkin.errors import DeviceLinkRevoked
from checkin.models import Admission, CheckinList, DeviceLink, Scan, SigningKey
from checkin.signing import public_key_b64
from core.db import row_or_raise
from core.refs import could_begin_a_ref, looks_like_ref, ref_normalise
from events.models import Event
from ticketing.models import Ticket
from ticketing.selectors import ATTENDING


def events_for_door(user: User) -> QuerySet[Event]:
    """Published events, not yet over, of the organizations `user` may scan for."""
    return (
        Event.objects.filter(
            organization__in=organizations_with_door_access(user),
            status=Event.Status.PUBLISHED,
            ends_at__gte=timezone.now() - timedelta(hours=12),
        )
        .select_related("venue")
        .order_by("starts_at")
    )


def event_for_door(user: User, event_id: Any) -> Event:
    return row_or_raise(events_for_door(user), Http404("No such event"), pk=event_id)


def checkin_list_of_event(event: Event, list_id: Any) -> CheckinList:
    """One list of `event` (the caller already scoped the event); a foreign id is a 404."""
    return row_or_raise(event.checkin_lists.all(), Http404("No such check-in list"), pk=list_id)


def device_link_for_token(token: str) -> DeviceLink:
    """The live link a token belongs to; 404 for an unknown token, 410 for a revoked one."""
    link = (
        DeviceLink.objects.select_related("checkin_list__event")
        .filter(token_digest=hashlib.sha256(token.encode()).hexdigest())
        .first()
    )
    if link is None:
        raise Http404("No such scanner link")
    if link.revoked_at is not None:
        raise DeviceLinkRevoked()
    event = link.checkin_list.event
    if event.status != Event.Status.PUBLISHED or event.ends_at < timezone.now() - timedelta(
        hours=12
    ):
        raise Http404("This event is not open for scanning")  # as events_for_door decides
    return link


def _admitted_tiers(checkin_list: CheckinList) -> list[Any]:
    return list(checkin_list.tiers.values_list("pk", flat=True))


def expected_tickets(checkin_list: CheckinList) -> QuerySet[Ticket]:
    """Valid tickets this list admits."""
    tickets = Ticket.objects.filter(event_id=checkin_list.event_id, status=Ticket.Status.VALID)
    tiers = _admitted_tiers(checkin_list)
    return tickets.filter(tier_id__in=tiers) if tiers else tickets


def checkin_list_counts(checkin_list: CheckinList) -> dict[str, int]:
    """Admitted, inside and expected for one list: the scanner's live counters (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT
                  (SELECT count(*) FROM {Admission._meta.db_table} WHERE checkin_list_id = %(l)s),
                  (SELECT count(*) FROM {Admission._meta.db_table}
                   WHERE checkin_list_id = %(l)s AND inside),
                  (SELECT count(*) FROM {Ticket._meta.db_table} t
                   WHERE t.event_id = %(e)s AND t.status = 'valid' AND (
                     NOT EXISTS (SELECT 1 FROM {CheckinList.tiers.through._meta.db_table} x
                                 WHERE x.checkinlist_id = %(l)s)
                     OR t.tier_id IN (SELECT x.tickettier_id
                                      FROM {CheckinList.tiers.through._meta.db_table} x
                                      WHERE x.checkinlist_id = %(l)s)))""",  # noqa: S608 - table names from model metadata
            {"l": checkin_list.pk, "e": checkin_list.event_id},
        )
        admitted, inside, expected = cursor.fetchone()
    return {"admitted": admitted, "inside": inside, "expected": expected}


def checkin_bundle(checkin_list: CheckinList) -> dict[str, Any]:
    """What a scanner needs to decide offline: keys, revocations, admissions, names and tiers.

    Tickets are `[id, name, tier index, seat label]` rows to keep the download small (a
    10,000-ticket event is ~600 kB of JSON before compression); the seat label is "" for
    general admission.
    """
    event = checkin_list.event
    keys = SigningKey.objects.filter(event=event, revoked_at__isnull=True).order_by("created_at")
    tiers = list(event.tiers.order_by("pk").values_list("pk", "name"))
    tier_index = {pk: n for n, (pk, _) in enumerate(tiers)}
    tickets = Ticket.objects.filter(event=event).values_list(
        "pk",
        "attendee_name",
        "tier_id",
        "status",
        "void_reason",
        "seat__section",
        "seat__row",
        "seat__number",
    )
    valid, revoked = [], []
    for pk, name, tier_id, status, void_reason, *seat in tickets.iterator(chunk_size=5000):
        if status == Ticket.Status.VALID:
            label = f"{seat[0]} {seat[1]}-{seat[2]}" if seat[0] else ""
            valid.append([str(pk), name, tier_index[tier_id], label])
        else:
            revoked.append([str(pk), void_reason or "revoked"])
    admissions = Admission.objects.filter(checkin_list=checkin_list).values_list(
        "ticket_id", "admitted_at", "inside"
    )
    return {
        "generated_at": timezone.now().isoformat(),
        "list": {
            "id": str(checkin_list.pk),
            "name": checkin_list.name,
            "allow_reentry": checkin_list.allow_reentry,
            "tiers": [tier_index[pk] for pk in _admitted_tiers(checkin_list)],
        },
        "event": {"id": str(event.pk), "title": event.title, "time_zone": event.time_zone},
        "keys": [
            {"kid": key.kid, "public_key": public_key_b64(key), "event_id": str(key.event_id)}
            for key in keys
        ],
        "tiers": [[str(pk), name] for pk, name in tiers],
        "tickets": valid,
        "revoked": revoked,
        "admitted": [[str(t), at.isoformat(), inside] for t, at, inside in admissions],
        "counts": checkin_list_counts(checkin_list),
    }


# --- Live attendance --------------------------------------------------------------------------


def attendance_version(event: Event) -> str:
    """Changes whenever a scan of the event is recorded or its lists change: the page's ETag."""
    row = Scan.objects.filter(checkin_list__event=event).aggregate(
        n=Count("pk"), last=Max("received_at")
    )
    lists = CheckinList.objects.filter(event=event).aggregate(n=Count("pk"))
    tickets = Ticket.objects.filter(event=event).aggregate(
        n=Count("pk"), valid=Count("pk", filter=Q(status=Ticket.Status.VALID))
    )
    raw = f"{row['n']}|{row['last']}|{lists['n']}|{tickets['n']}|{tickets['valid']}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def attendance(event: Event) -> dict[str, Any]:
    """Admitted / expected per list and per tier within each list (a constant number of queries)."""
    lists = list(event.checkin_lists.prefetch_related("tiers").order_by("created_at", "name"))
    tiers = list(event.tiers.order_by("price", "name"))
    valid_by_tier = dict(
        Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
        .values_list("tier_id")
        .annotate(n=Count("pk"))
        .values_list("tier_id", "n")
    )
    admitted: dict[Any, dict[Any, int]] = defaultdict(dict)
    inside: dict[Any, int] = defaultdict(int)
    for list_id, tier_id, is_inside, n in (
        Admission.objects.filter(ATTENDING, checkin_list__event=event)
        .values_list("checkin_list_id", "ticket__tier_id", "inside")
        .annotate(n=Count("pk"))
        .values_list("checkin_list_id", "ticket__tier_id", "inside", "n")
    ):
        admitted[list_id][tier_id] = admitted[list_id].get(tier_id, 0) + n
        if is_inside:
            inside[list_id] += n
    conflicts = dict(
        Scan.objects.filter(checkin_list__event=event, conflict=True)
        .values_list("checkin_list_id")
        .annotate(n=Count("pk"))
        .values_list("checkin_list_id", "n")
    )
    rows = []
    for checkin_list in lists:
        chosen = {t.pk for t in checkin_list.tiers.all()}
        shown = [tier for tier in tiers if not chosen or tier.pk in chosen]
        per_tier = [
            {
                "id": str(tier.pk),
                "name": tier.name,
                "admitted": admitted[checkin_list.pk].get(tier.pk, 0),
                "expected": valid_by_tier.get(tier.pk, 0),
            }
            for tier in shown
        ]
        rows.append(
            {
                "id": str(checkin_list.pk),
                "name": checkin_list.name,
                "allow_reentry": checkin_list.allow_reentry,
                "admitted": sum(admitted[checkin_list.pk].get(t.pk, 0) for t in shown),
                "expected": sum(valid_by_tier.get(t.pk, 0) for t in shown),
                "inside": inside[checkin_list.pk],
                "conflicts": conflicts.get(checkin_list.pk, 0),
                "tiers": per_tier,
            }
        )
    return {"lists": rows}


SCAN_FILTERS = {
    "all": Q(),
    "rejects": ~Q(result__in=[Scan.Result.ADMITTED, Scan.Result.EXITED]),
    "conflicts": Q(conflict=True),
    "offline": Q(client_scan_id__isnull=False),
}


def scan_log(event: Event, *, show: str = "all", list_id: Any = None) -> QuerySet[Scan]:
    """The event's scans, newest first, filtered: all, rejects, conflicts or offline."""
    scans = (
        Scan.objects.filter(checkin_list__event=event)
        .filter(SCAN_FILTERS.get(show, Q()))
        .select_related("checkin_list", "ticket__tier", "scanned_by", "device_link")
        .order_by("-received_at", "-scanned_at")
    )
    if list_id:
        try:
            scans = scans.filter(checkin_list_id=list_id)
        except (ValidationError, ValueError):
            return scans.none()
    return scans


GUEST_SEARCH_LIMIT = 20


def door_guests_find(checkin_list: CheckinList, query: str) -> list[Ticket]:
    """Tickets of the list's event whose guest matches `query` by name, email or reference.

    For a guest whose phone is dead: the door types part of a name, an email, or the order or
    ticket reference printed on the confirmation (`2UAY BE7M`, or its first group). Each ticket
    knows whether this list has admitted it already (`admitted_at`).
    """
    words = query.split()[:5]
    if not words or len(query.strip()) < 2:
        return []
    matches = Q()
    for word in words:
        match = (
            Q(attendee_name__icontains=word)
            | Q(holder__email__icontains=word)
            | Q(holder__full_name__icontains=word)
        )
        if could_begin_a_ref(word):
            typed = ref_normalise(word)
            match |= Q(ref__startswith=typed) | Q(order__ref__startswith=typed)
        hexed = word.replace("-", "").lower()
        if len(hexed) >= 4 and all(c in "0123456789abcdef" for c in hexed):
            match |= Q(id__startswith=word.lower()) | Q(order__id__startswith=word.lower())
        matches &= match
    if looks_like_ref(query):  # a whole reference typed in two groups is one reference
        typed = ref_normalise(query)
        matches |= Q(ref=typed) | Q(order__ref=typed)
    tickets = Ticket.objects.filter(matches, event_id=checkin_list.event_id)
    admissions = Admission.objects.filter(ticket=OuterRef("pk"), checkin_list=checkin_list)
    return list(
        tickets.select_related("holder", "tier", "seat", "order")
        .annotate(admitted_at=Subquery(admissions.values("admitted_at")[:1]))
        .order_by("attendee_name", "id")[:GUEST_SEARCH_LIMIT]
    )
