"""events.services: each write changes what it says, refuses what it must, and is audited."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEntry, User
from events.errors import CapacityBelowSold, EventHasOrders, EventNotEditable, InvalidEvent
from events.models import Event, TicketTier, Venue
from events.services import (
    TierSpec,
    VenueSpec,
    event_cancel,
    event_create,
    event_delete,
    event_publish,
    event_tiers_save,
    event_update,
)
from tests.factories import EventFactory, TicketTierFactory, UserFactory, order_reserved


def audit_actions(target: Event) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type="events.event", target_id=str(target.pk))
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def create_draft(organizer: User, **overrides: object) -> Event:
    starts = timezone.now() + timedelta(days=30)
    arguments: dict[str, object] = {
        "actor": organizer,
        "organization": organizer.organizations.get(),
        "title": "Jazz Night",
        "venue": VenueSpec(name="Blue Room", city="Hamburg", address="2 Harbour Road"),
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=3),
        "tiers": [
            TierSpec(name="Standing", price=Decimal("19.00"), capacity=200),
            TierSpec(name="Seated", price=Decimal("39.00"), capacity=50, max_per_order=4),
        ],
        "time_zone": "Europe/Berlin",
        "currency": "eur",
    }
    arguments.update(overrides)
    return event_create(**arguments)  # type: ignore[arg-type]


def test_event_create_makes_a_draft_with_its_tiers_and_an_audit_entry(organizer: User) -> None:
    event = create_draft(organizer)

    event.refresh_from_db()
    assert event.status == Event.Status.DRAFT
    assert event.slug == "jazz-night"
    assert event.currency == "EUR"
    assert event.venue.city == "Hamburg"
    assert list(event.tiers.values_list("name", "capacity", "sold_count", "position")) == [
        ("Standing", 200, 0, 0),
        ("Seated", 50, 0, 1),
    ]
    entry = AuditEntry.objects.get(action="event.create", target_id=str(event.pk))
    assert entry.actor == organizer
    assert entry.organization == event.organization
    assert entry.changes == {"title": "Jazz Night", "tiers": 2}


def test_event_create_reuses_the_organizations_venue(organizer: User) -> None:
    first = create_draft(organizer)
    second = create_draft(organizer, title="Jazz Night II")

    assert first.venue_id == second.venue_id
    assert Venue.objects.filter(organization=first.organization).count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": timezone.now()}, "cannot end before it starts"),
        ({"time_zone": "Mars/Olympus_Mons"}, "Unknown time zone"),
        ({"tiers": [TierSpec(name="Bad", price=Decimal("-1"), capacity=5)]}, "negative"),
        ({"tiers": [TierSpec(name="  ", price=Decimal("1"), capacity=5)]}, "needs a name"),
        ({"tiers": [TierSpec(name="A", price=Decimal("1"), capacity=-5)]}, "Capacity"),
        (
            {"tiers": [TierSpec(name="A", price=Decimal("1"), capacity=5, max_per_order=0)]},
            "per order",
        ),
    ],
    ids=["ends-before-start", "unknown-tz", "negative-price", "blank-tier", "neg-cap", "max0"],
)
def test_event_create_rejects_invalid_input_without_writing_anything(
    organizer: User, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidEvent, match=message) as caught:
        create_draft(organizer, **overrides)

    assert caught.value.code == "INVALID_EVENT"
    assert Event.objects.count() == 0
    assert TicketTier.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_event_update_changes_fields_and_records_the_diff(organizer: User, event: Event) -> None:
    updated = event_update(
        actor=organizer,
        event=event,
        title="Renamed Evening",
        venue=VenueSpec(name="Annex", city="Leipzig"),
    )

    event.refresh_from_db()
    assert event.title == "Renamed Evening"
    assert event.slug == "renamed-evening"
    assert event.venue.name == "Annex"
    assert updated.pk == event.pk
    entry = AuditEntry.objects.get(action="event.update", target_id=str(event.pk))
    assert entry.actor == organizer
    assert set(entry.changes) == {"title", "venue"}
    assert entry.changes["title"][1] == "Renamed Evening"


def test_event_update_without_changes_writes_no_audit_entry(organizer: User, event: Event) -> None:
    event_update(actor=organizer, event=event, title=event.title)

    assert audit_actions(event) == []


def test_event_update_refuses_end_before_start(organizer: User, event: Event) -> None:
    with pytest.raises(InvalidEvent):
        event_update(actor=organizer, event=event, ends_at=event.starts_at - timedelta(hours=1))

    event.refresh_from_db()
    assert event.ends_at > event.starts_at
    assert audit_actions(event) == []


def test_event_update_refuses_unknown_fields(organizer: User, event: Event) -> None:
    with pytest.raises(InvalidEvent, match="status"):
        event_update(actor=organizer, event=event, status=Event.Status.CANCELLED)

    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED


def test_cancelled_event_cannot_be_edited(organizer: User, event: Event) -> None:
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)

    with pytest.raises(EventNotEditable):
        event_update(actor=organizer, event=event, title="Back from the dead")

    event.refresh_from_db()
    assert event.title != "Back from the dead"


def test_currency_cannot_change_once_tickets_were_ordered(
    organizer: User, attendee: User, tier: TicketTier
) -> None:
    order_reserved(buyer=attendee, tier=tier)

    with pytest.raises(EventNotEditable):
        event_update(actor=organizer, event=tier.event, currency="USD")

    tier.event.refresh_from_db()
    assert tier.event.currency == "EUR"


def test_event_publish_puts_a_draft_on_sale_and_is_audited(organizer: User) -> None:
    draft = create_draft(organizer)

    event_publish(actor=organizer, event=draft)

    draft.refresh_from_db()
    assert draft.status == Event.Status.PUBLISHED
    assert audit_actions(draft) == ["event.create", "event.publish"]


def test_only_drafts_can_be_published(organizer: User, event: Event) -> None:
    with pytest.raises(EventNotEditable):
        event_publish(actor=organizer, event=event)

    assert audit_actions(event) == []


def test_draft_without_tiers_cannot_be_published(organizer: User) -> None:
    draft = create_draft(organizer, tiers=[])

    with pytest.raises(InvalidEvent, match="ticket tier"):
        event_publish(actor=organizer, event=draft)

    draft.refresh_from_db()
    assert draft.status == Event.Status.DRAFT
    assert audit_actions(draft) == ["event.create"]


def test_event_cancel_takes_the_event_off_sale_and_is_audited(
    organizer: User, event: Event
) -> None:
    event_cancel(actor=organizer, event=event)

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert not event.is_on_sale
    assert audit_actions(event) == ["event.cancel", "event.refund_all"]  # refunds start too


def test_cancelling_twice_is_refused(organizer: User, event: Event) -> None:
    event_cancel(actor=organizer, event=event)

    with pytest.raises(EventNotEditable):
        event_cancel(actor=organizer, event=event)

    assert audit_actions(event) == ["event.cancel", "event.refund_all"]


def test_event_delete_removes_a_draft_and_keeps_the_audit_entry(organizer: User) -> None:
    draft = create_draft(organizer)
    draft_id = draft.pk

    event_delete(actor=organizer, event=draft)

    assert not Event.objects.filter(pk=draft_id).exists()
    assert not TicketTier.objects.filter(event_id=draft_id).exists()
    entry = AuditEntry.objects.get(action="event.delete", target_id=str(draft_id))
    assert entry.changes == {"title": "Jazz Night"}


def test_published_event_cannot_be_deleted(organizer: User, event: Event) -> None:
    with pytest.raises(EventHasOrders):
        event_delete(actor=organizer, event=event)

    assert Event.objects.filter(pk=event.pk).exists()
    assert audit_actions(event) == []


def test_event_tiers_save_updates_existing_and_adds_new_tiers(
    organizer: User, tier: TicketTier
) -> None:
    saved = event_tiers_save(
        actor=organizer,
        event=tier.event,
        tiers=[
            TierSpec(id=tier.pk, name="Early bird", price=Decimal("15.00"), capacity=40),
            TierSpec(name="VIP", price=Decimal("99.00"), capacity=10, max_per_order=2),
        ],
    )

    assert [t.name for t in saved] == ["Early bird", "VIP"]
    tier.refresh_from_db()
    assert (tier.name, tier.price, tier.capacity) == ("Early bird", Decimal("15.00"), 40)
    assert tier.event.tiers.count() == 2
    entry = AuditEntry.objects.get(action="event.tiers", target_id=str(tier.event_id))
    assert entry.changes == {"tiers": [["Early bird", "15.00", 40], ["VIP", "99.00", 10]]}


def test_tier_capacity_cannot_drop_below_what_is_sold_or_held(
    organizer: User, attendee: User
) -> None:
    tier = TicketTierFactory.create(
        capacity=10, event=EventFactory.create(organization=organizer.organizations.get())
    )
    order_reserved(buyer=attendee, tier=tier, quantity=3)

    with pytest.raises(CapacityBelowSold) as caught:
        event_tiers_save(
            actor=organizer,
            event=tier.event,
            tiers=[TierSpec(id=tier.pk, name=tier.name, price=tier.price, capacity=2)],
        )

    assert caught.value.code == "CAPACITY_BELOW_SOLD"
    tier.refresh_from_db()
    assert (tier.capacity, tier.sold_count) == (10, 3)
    assert audit_actions(tier.event) == []


def test_tier_capacity_may_drop_to_exactly_what_is_sold(organizer: User, attendee: User) -> None:
    tier = TicketTierFactory.create(
        capacity=10, event=EventFactory.create(organization=organizer.organizations.get())
    )
    order_reserved(buyer=attendee, tier=tier, quantity=3)

    event_tiers_save(
        actor=organizer,
        event=tier.event,
        tiers=[TierSpec(id=tier.pk, name=tier.name, price=tier.price, capacity=3)],
    )

    tier.refresh_from_db()
    assert tier.capacity == tier.sold_count == 3
    assert tier.available == 0


def test_event_tiers_save_refuses_a_tier_of_another_event(organizer: User, event: Event) -> None:
    foreign = TicketTierFactory.create(name="Foreign")

    with pytest.raises(InvalidEvent, match="Unknown ticket tier"):
        event_tiers_save(
            actor=organizer,
            event=event,
            tiers=[TierSpec(id=foreign.pk, name="Hijacked", price=Decimal("1"), capacity=1)],
        )

    foreign.refresh_from_db()
    assert foreign.name == "Foreign"
    assert foreign.event_id != event.pk


def test_an_edit_whose_tiers_are_refused_changes_nothing(organizer: User) -> None:
    event = EventFactory.create(organization=organizer.organizations.get(), title="Before")
    tier = TicketTierFactory.create(event=event, capacity=10)
    order_reserved(buyer=UserFactory.create(), tier=tier, quantity=5)

    with pytest.raises(CapacityBelowSold):
        event_update(
            actor=organizer,
            event=event,
            title="After",
            tiers=[TierSpec(id=tier.pk, name=tier.name, price=tier.price, capacity=4)],
        )

    event.refresh_from_db()
    tier.refresh_from_db()
    assert (event.title, tier.capacity) == ("Before", 10)
