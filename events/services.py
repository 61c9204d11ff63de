import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import audit_record
from core.images import PictureFields, picture_replace, picture_variants_record
from events.cache import events_changed
from events.errors import CapacityBelowSold, EventHasOrders, EventNotEditable, InvalidEvent
from events.models import Category, Event, TicketTier, Venue
from events.signals import event_cancelled, event_changed, tiers_changed


@dataclass(frozen=True)
class TierSpec:
    name: str
    price: Decimal
    capacity: int
    max_per_order: int = 10
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    id: Any = None  # an existing tier's id when editing


@dataclass(frozen=True)
class VenueSpec:
    name: str
    city: str
    address: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None


def _venue_for(organization: Organization, spec: VenueSpec) -> Venue:
    venue, _created = Venue.objects.get_or_create(
        organization=organization,
        name=spec.name.strip(),
        city=spec.city.strip(),
        defaults={"address": spec.address.strip(), "country": spec.country.strip().upper()},
    )
    if spec.address and venue.address != spec.address.strip():
        venue.address = spec.address.strip()
        venue.save(update_fields=["address"])
    if spec.latitude is not None and spec.longitude is not None:
        if not (-90 <= spec.latitude <= 90 and -180 <= spec.longitude <= 180):
            raise InvalidEvent(_("Latitude is -90..90 and longitude -180..180."))
        if (venue.latitude, venue.longitude) != (spec.latitude, spec.longitude):
            venue.latitude, venue.longitude = spec.latitude, spec.longitude
            venue.save(update_fields=["latitude", "longitude"])
    return venue


def _validate_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise InvalidEvent(_("Unknown time zone %(zone)r.") % {"zone": name})


def _validate_times(starts_at: datetime, ends_at: datetime) -> None:
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise InvalidEvent(_("Start and end need a time zone."))
    if ends_at < starts_at:
        raise InvalidEvent(_("The event cannot end before it starts."))


def _validate_tier(spec: TierSpec) -> None:
    if not spec.name.strip():
        raise InvalidEvent(_("Every ticket tier needs a name."))
    if spec.price < 0:
        raise InvalidEvent(_("Prices cannot be negative."))
    if spec.capacity < 0 or spec.max_per_order < 1:
        raise InvalidEvent(_("Capacity cannot be negative and at least 1 ticket per order."))
    if spec.sales_start and spec.sales_end and spec.sales_end <= spec.sales_start:
        raise InvalidEvent(_("Ticket sales must end after they start."))


@transaction.atomic(durable=True)
def event_create(
    *,
    actor: User,
    organization: Organization,
    title: str,
    venue: VenueSpec,
    starts_at: datetime,
    ends_at: datetime,
    tiers: list[TierSpec],
    description: str = "",
    category: Category | None = None,
    time_zone: str = "UTC",
    currency: str = "EUR",
    performers: str = "",
    cover_alt: str = "",
    is_test: bool = False,
    translations: dict[str, dict[str, str]] | None = None,
) -> Event:
    """Create a draft event with its ticket tiers."""
    _validate_times(starts_at, ends_at)
    _validate_time_zone(time_zone)
    for spec in tiers:
        _validate_tier(spec)
    event = Event.objects.create(
        organization=organization,
        title=title.strip(),
        slug=slugify(title)[:200] or "event",
        description=description,
        category=category,
        venue=_venue_for(organization, venue),
        starts_at=starts_at,
        ends_at=ends_at,
        time_zone=time_zone,
        currency=currency.upper(),
        performers=performers.strip(),
        cover_alt=cover_alt.strip(),
        is_test=is_test,
        translations=_translations_checked(translations or {}),
    )
    TicketTier.objects.bulk_create(
        TicketTier(
            event=event,
            name=spec.name.strip(),
            price=spec.price,
            capacity=spec.capacity,
            max_per_order=spec.max_per_order,
            sales_start=spec.sales_start,
            sales_end=spec.sales_end,
            position=position,
        )
        for position, spec in enumerate(tiers)
    )
    audit_record(
        actor=actor,
        action="event.create",
        target=event,
        organization=organization,
        changes={"title": event.title, "tiers": len(tiers)},
    )
    events_changed(event.pk)  # cached pages; the search document is a trigger's job
    return event


def _translations_checked(translations: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Only the site's other languages, only title and description, only what has text."""
    offered = {code for code, _ in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    checked: dict[str, dict[str, str]] = {}
    for code, texts in translations.items():
        if code not in offered:
            raise InvalidEvent(_("Texts in %(language)r are not offered.") % {"language": code})
        kept = {f: str(texts[f]).strip() for f in ("title", "description") if texts.get(f)}
        if len(kept.get("title", "")) > 200:
            raise InvalidEvent(_("A title has at most 200 characters."))
        if kept:
            checked[code] = kept
    return checked


EDITABLE_FIELDS = {
    "title",
    "description",
    "category",
    "starts_at",
    "ends_at",
    "time_zone",
    "currency",
    "performers",
    "cover_alt",
    "is_test",
    "translations",
}


@transaction.atomic(durable=True)
def event_update(
    *,
    actor: User,
    event: Event,
    venue: VenueSpec | None = None,
    tiers: list[TierSpec] | None = None,
    **fields: Any,
) -> Event:
    """Change an event's details (and its tiers), all or nothing; returns the event."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise EventNotEditable(_("A cancelled event cannot be edited."))
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise InvalidEvent(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if "currency" in fields and fields["currency"] != event.currency and event.orders.exists():
        raise EventNotEditable(_("The currency cannot change once tickets were ordered."))
    if "translations" in fields:
        fields["translations"] = _translations_checked(fields["translations"] or {})
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        old = getattr(event, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(event, name, value)
    if venue is not None:
        new_venue = _venue_for(event.organization, venue)
        if new_venue.pk != event.venue_id:
            changes["venue"] = [str(event.venue), str(new_venue)]
            event.venue = new_venue
    _validate_times(event.starts_at, event.ends_at)
    _validate_time_zone(event.time_zone)
    if "title" in changes:
        event.slug = slugify(event.title)[:200] or "event"
    if changes:
        event.save()
        audit_record(
            actor=actor,
            action="event.update",
            target=event,
            organization=event.organization,
            changes=changes,
        )
        event_changed.send(
            sender=Event, event_id=event.pk, organization_id=event.organization_id, changes=changes
        )
    if tiers is not None:
        _save_tiers(actor, event, tiers)
    events_changed(event.pk)  # cached pages; the search document is a trigger's job
    return event


@transaction.atomic(durable=True)
def event_tiers_save(*, actor: User, event: Event, tiers: list[TierSpec]) -> list[TicketTier]:
    """Create or change tiers; capacity never drops below what is already sold or held."""
    return _save_tiers(actor, event, tiers)


def _save_tiers(actor: User, event: Event, tiers: list[TierSpec]) -> list[TicketTier]:
    for spec in tiers:
        _validate_tier(spec)
    existing = {
        tier.pk: tier
        for tier in TicketTier.objects.select_for_update().filter(event=event).order_by("pk")
    }
    # Tiers with assigned seats (ticketing's EventSeat, read through the reverse relation).
    seated = set(
        TicketTier.objects.filter(pk__in=list(existing), seats__isnull=False).values_list(
            "pk", flat=True
        )
    )
    saved = []
    for position, spec in enumerate(tiers):
        tier = existing.get(spec.id) if spec.id else None
        if spec.id and tier is None:
            raise InvalidEvent(_("Unknown ticket tier."))
        if tier is None:
            tier = TicketTier(event=event)
        elif tier.pk in seated and spec.capacity != tier.capacity:
            # A seated tier sells its seats: its capacity follows the seating page.
            raise InvalidEvent(
                _(
                    "%(tier)s sells assigned seats: its capacity is its %(seats)s seats. "
                    "Change the seating (add or block seats) instead."
                )
                % {"tier": tier.name, "seats": tier.capacity}
            )
        elif spec.capacity < tier.sold_count:
            raise CapacityBelowSold(
                _("%(tier)s: %(sold)s already sold or held, capacity cannot be %(capacity)s.")
                % {"tier": tier.name, "sold": tier.sold_count, "capacity": spec.capacity}
            )
        tier.name, tier.price, tier.capacity = spec.name.strip(), spec.price, spec.capacity
        tier.max_per_order, tier.position = spec.max_per_order, position
        tier.sales_start, tier.sales_end = spec.sales_start, spec.sales_end
        tier.save()
        saved.append(tier)
    audit_record(
        actor=actor,
        action="event.tiers",
        target=event,
        organization=event.organization,
        changes={"tiers": [[t.name, str(t.price), t.capacity] for t in saved]},
    )
    event_id = event.pk
    transaction.on_commit(lambda: tiers_changed.send(sender=Event, event_id=event_id))
    events_changed(event_id)
    return saved


@transaction.atomic(durable=True)
def event_publish(*, actor: User, event: Event) -> Event:
    """Put a draft on sale."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status != Event.Status.DRAFT:
        raise EventNotEditable(_("Only drafts can be published."))
    if not event.tiers.exists():
        raise InvalidEvent(_("Add at least one ticket tier before publishing."))
    event.status = Event.Status.PUBLISHED
    event.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="event.publish", target=event, organization=event.organization)
    events_changed(event.pk)
    return event


@transaction.atomic(durable=True)
def event_cancel(*, actor: User, event: Event) -> Event:
    """Cancel an event: it leaves sale at once (refunds are handled by ticketing)."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status == Event.Status.CANCELLED:
        raise EventNotEditable(_("This event is already cancelled."))
    event.status = Event.Status.CANCELLED
    event.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="event.cancel", target=event, organization=event.organization)
    event_cancelled.send(
        sender=Event, event_id=event.pk, organization_id=event.organization_id, actor_id=actor.pk
    )
    events_changed(event.pk)
    return event


@transaction.atomic(durable=True)
def event_delete(*, actor: User, event: Event) -> None:
    """Delete a draft that has no orders."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.status != Event.Status.DRAFT or event.orders.exists():
        raise EventHasOrders()
    audit_record(
        actor=actor,
        action="event.delete",
        target=event,
        organization=event.organization,
        changes={"title": event.title},
    )
    events_changed(event.pk)
    event.delete()


COVER = PictureFields(
    file="cover_image",
    width="cover_width",
    height="cover_height",
    variants="cover_variants",
    default_name="cover.jpg",
)


@transaction.atomic(durable=True)
def event_cover_set(*, actor: User, event: Event, image: UploadedFile | None) -> Event:
    """Replace (or, with None, remove) the cover; its sizes are made after commit by a task."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    old, new = picture_replace(event, COVER, image)
    event.save()
    audit_record(
        actor=actor,
        action="event.cover",
        target=event,
        organization=event.organization,
        changes={"cover_image": [old, new]},
    )
    events_changed(event.pk)
    if event.cover_image:
        from events.tasks import event_cover_process

        event_id = str(event.pk)
        transaction.on_commit(lambda: event_cover_process.delay(event_id))
    return event


def event_cover_variants_build(*, event_id: Any) -> dict[str, Any]:
    """Make the cover's sizes and record them, unless the cover changed meanwhile."""
    variants = picture_variants_record(Event, event_id, COVER, folder=f"events/{event_id}/sizes")
    if variants:
        events_changed(event_id)
    return variants
