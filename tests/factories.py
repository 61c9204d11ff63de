"""Test data. Factories build rows; flows (booking, paying) go through the real services."""

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from accounts.models import Membership, Organization, User
from events.models import Category, Event, TicketTier, Venue
from ticketing.booking.services import PaymentOutcome, order_pay, order_reserve
from ticketing.models import Order

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.OWNER


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = "Concert"
    slug = "concert"


class VenueFactory(factory.django.DjangoModelFactory[Venue]):
    class Meta:
        model = Venue

    organization = factory.SubFactory(OrganizationFactory)
    name = "Main Hall"
    address = "1 Main Street"
    city = "Berlin"


class EventFactory(factory.django.DjangoModelFactory[Event]):
    class Meta:
        model = Event

    organization = factory.SubFactory(OrganizationFactory)
    venue = factory.SubFactory(VenueFactory, organization=factory.SelfAttribute("..organization"))
    title = factory.Sequence(lambda n: f"Event {n}")
    slug = factory.Sequence(lambda n: f"event-{n}")
    description = "A fine evening."
    category = factory.SubFactory(CategoryFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=3))
    time_zone = "Europe/Berlin"
    currency = "EUR"
    status = Event.Status.PUBLISHED


class TicketTierFactory(factory.django.DjangoModelFactory[TicketTier]):
    class Meta:
        model = TicketTier

    event = factory.SubFactory(EventFactory)
    name = "General admission"
    price = Decimal("25.00")
    capacity = 100
    max_per_order = 10


# --- Flows: built through the real services -------------------------------------------------


def order_reserved(
    *, buyer: User, tier: TicketTier, quantity: int = 1, idempotency_key: str | None = None
) -> Order:
    """A pending order holding `quantity` of `tier` for `buyer` (through order_reserve)."""
    return order_reserve(
        buyer=buyer,
        event_id=tier.event_id,
        items=[(tier.pk, quantity)],
        idempotency_key=idempotency_key or uuid.uuid4().hex,
    )


def order_paid(*, buyer: User, tier: TicketTier, quantity: int = 1) -> PaymentOutcome:
    """A paid order's PaymentOutcome (order + issued tickets), through reserve and pay."""
    order = order_reserved(buyer=buyer, tier=tier, quantity=quantity)
    return order_pay(buyer=buyer, order_id=order.pk, idempotency_key=uuid.uuid4().hex)
