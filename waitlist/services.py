"""Waitlists: joining and leaving a line, and promotion of released seats to offers."""

import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import DomainError, NotFound
from core.testswitches import switch_on
from events.models import Event, TicketTier
from events.selectors import event_managed_by
from ticketing.aftersale.cancellation import order_hold_cancel
from ticketing.aftersale.refunds import policy_for
from ticketing.aftersale.waitlist_release import (
    order_hold_set_aside,
    set_aside_claim_free,
    set_aside_of,
    set_aside_release,
)
from ticketing.booking.core import orders_release_expired
from ticketing.booking.services import PaymentOutcome, order_pay
from ticketing.errors import HoldExpired, SalesClosed, UnknownTier
from ticketing.models import Order
from waitlist.errors import NothingToOffer, OfferExpired, OfferNotOpen, TicketsAvailable
from waitlist.models import Offer, WaitlistEntry
from waitlist.signals import offer_made


@transaction.atomic(durable=True)
def waitlist_join(*, user: User, event: Event, tier_id: Any = None) -> WaitlistEntry:
    """Put `user` in line for a sold-out tier (or any tier); joining twice keeps the first place."""
    if event.status != Event.Status.PUBLISHED:
        raise SalesClosed(_("This event is not on sale."))
    tiers = list(event.tiers.all())
    tier = None
    if tier_id is not None:
        tier = next((t for t in tiers if str(t.pk) == str(tier_id)), None)
        if tier is None:
            raise UnknownTier()
    if any(t.available for t in ([tier] if tier else tiers)):
        raise TicketsAvailable()
    existing = WaitlistEntry.objects.filter(
        user=user, event=event, tier=tier, status=WaitlistEntry.Status.WAITING
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(user=user, event=event, tier=tier)
    except IntegrityError:  # the same person joining twice at once
        return WaitlistEntry.objects.get(
            user=user, event=event, tier=tier, status=WaitlistEntry.Status.WAITING
        )


@transaction.atomic(durable=True)
def waitlist_leave(*, user: User, entry_id: Any) -> None:
    """Take `user` out of a line they are in."""
    updated = WaitlistEntry.objects.filter(
        pk=entry_id, user=user, status=WaitlistEntry.Status.WAITING
    ).update(status=WaitlistEntry.Status.LEFT)
    if not updated:
        raise NotFound(_("You are not on that waitlist."))


# --- Promotion: released seats become offers --------------------------------------------------
#
# Released seats of a tier with people waiting are set aside by ticketing
# (ticketing.booking.releases), still counted as sold. `waitlist_promote` turns each set-aside
# seat into one Offer whose hold
# is a pending order of the offered person, in the transaction that takes the seat from the
# set-aside: so a run killed midway leaves either both or neither, and a second run finds no
# seat left to offer (no double offer) while the line's head is still waiting (nobody skipped).


def waiting_counts(event_id: Any, tier_ids: Sequence[str]) -> dict[str, int]:
    """People waiting who could take each tier (its own line plus the event's "any tier")."""
    waiting = WaitlistEntry.objects.filter(event_id=event_id, status=WaitlistEntry.Status.WAITING)
    any_tier = waiting.filter(tier__isnull=True).count()
    per_tier = dict(
        waiting.filter(tier_id__in=list(tier_ids))
        .values_list("tier_id")
        .annotate(n=Count("id"))
        .values_list("tier_id", "n")
    )
    return {t: per_tier.get(uuid.UUID(t), 0) + any_tier for t in tier_ids}


def _line_head(event_id: Any, tier_id: Any, n: int, *, lock: bool) -> list[WaitlistEntry]:
    """The first `n` people waiting for a tier, own line and "any tier" merged, FIFO by join
    time, ties by id; locked, so a concurrent leave waits for this promotion."""
    entries = WaitlistEntry.objects.all()
    return list(
        (entries.select_for_update(of=("self",)) if lock else entries)
        .select_related("user")
        .filter(event_id=event_id, status=WaitlistEntry.Status.WAITING)
        .filter(Q(tier_id=tier_id) | Q(tier__isnull=True))
        .order_by("created_at", "id")[:n]
    )


def _offer_minutes(event: Event) -> int:
    return policy_for(event).waitlist_offer_minutes


def waitlist_promote(*, event_id: Any, only_tier_id: Any = None, manual: bool = False) -> int:
    """Offer every set-aside (or freed) seat of the event to the head of its line; how many."""
    made = 0
    tier_ids = list(
        TicketTier.objects.filter(event_id=event_id).order_by("id").values_list("pk", flat=True)
    )
    for tier_id in tier_ids:
        if only_tier_id is not None and str(tier_id) != str(only_tier_id):
            continue
        made += _promote_tier(event_id=event_id, tier_id=tier_id, manual=manual)
    return made


@transaction.atomic(durable=True)
def _promote_tier(*, event_id: Any, tier_id: Any, manual: bool) -> int:
    unsafe = switch_on("promotion_unlocked")  # negative control
    if not unsafe:
        # One promotion per event at a time: "any tier" people are in every tier's line.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"waitlist:{event_id}"]
            )
    # The tier row first, then its set-aside row: the order every release path uses.
    tiers = TicketTier.objects.select_related("event")
    tier = (tiers if unsafe else tiers.select_for_update(of=("self",))).get(pk=tier_id)
    event = tier.event
    set_aside = set_aside_of([tier.pk]).get(str(tier.pk), 0)
    if event.status != Event.Status.PUBLISHED or event.ends_at <= timezone.now():
        if set_aside:
            set_aside_release(tier_id=tier.pk, quantity=set_aside)
        return 0
    waiting = waiting_counts(event_id, [str(tier.pk)])[str(tier.pk)]
    if waiting > set_aside:  # capacity was raised, or seats came free some other way
        set_aside += set_aside_claim_free(tier=tier, quantity=waiting - set_aside)
    if not set_aside:
        return 0
    heads = _line_head(event_id, tier.pk, set_aside, lock=not unsafe)
    expires_at = timezone.now() + timedelta(minutes=_offer_minutes(event))
    offers = []
    for entry in heads:
        offer_id = uuid.uuid4()
        order = order_hold_set_aside(
            buyer=entry.user,
            tier=tier,
            expires_at=expires_at,
            idempotency_key=f"waitlist-offer-{offer_id}",
        )
        if order is None:
            break
        offers.append(
            Offer.objects.create(
                id=offer_id,
                entry=entry,
                user=entry.user,
                event=event,
                tier=tier,
                order=order,
                token=secrets.token_urlsafe(32),
                expires_at=expires_at,
                manual=manual,
            )
        )
        entry.status = WaitlistEntry.Status.OFFERED
        entry.save(update_fields=["status"])
    # Seats nobody is waiting for any more (people left) go back on public sale.
    set_aside_release(tier_id=tier.pk, quantity=set_aside - len(offers))
    for offer in offers:  # inside the transaction: a listener's outbox row commits with the offer
        offer_made.send(sender=Offer, offer_id=offer.pk)
    return len(offers)


def waitlist_offers_expire(*, event_id: Any = None) -> int:
    """Settle offers whose hold is gone (lapsed or paid); lapsed ones move to the next person."""
    now = timezone.now()
    lapsed = Offer.objects.filter(status=Offer.Status.OPEN, expires_at__lte=now)
    if event_id is not None:
        lapsed = lapsed.filter(event_id=event_id)
    events = set(lapsed.values_list("event_id", flat=True))
    for lapsed_event in events:
        # Release the offers' holds now (beat may lag): their seats are set aside again.
        orders_release_expired(event_id=lapsed_event)
    settled = _offers_settle(event_id=event_id)
    for lapsed_event in events:
        waitlist_promote(event_id=lapsed_event)
    return settled


@transaction.atomic(durable=True)
def _offers_settle(*, event_id: Any) -> int:
    offers = Offer.objects.select_for_update(of=("self",)).select_related("order", "entry")
    offers = offers.filter(status=Offer.Status.OPEN).exclude(order__status=Order.Status.PENDING)
    if event_id is not None:
        offers = offers.filter(event_id=event_id)
    settled = 0
    for offer in offers:
        _offer_settle(offer)
        settled += 1
    return settled


def _offer_settle(offer: Offer) -> None:
    paid = offer.order.status == Order.Status.PAID
    offer.status = Offer.Status.ACCEPTED if paid else Offer.Status.EXPIRED
    offer.decided_at = timezone.now()
    offer.save(update_fields=["status", "decided_at"])
    WaitlistEntry.objects.filter(pk=offer.entry_id).update(
        status=WaitlistEntry.Status.CONVERTED if paid else WaitlistEntry.Status.EXPIRED
    )


def offer_for(*, user: User, token: str) -> Offer:
    """The offer behind a one-time link, for the person it was made to (else NotFound)."""
    offer = (
        Offer.objects.select_related("event", "event__venue", "tier", "order")
        .filter(token=token, user=user)
        .first()
        if token
        else None
    )
    if offer is None:
        raise NotFound(_("No such offer."))
    return offer


def waitlist_offer_accept(
    *, user: User, token: str, idempotency_key: str, source: str = "4242424242424242"
) -> PaymentOutcome:
    """Book the offered seat at the offered price: pay its hold through the normal service."""
    offer = offer_for(user=user, token=token)
    if offer.status == Offer.Status.OPEN and offer.expires_at <= timezone.now():
        waitlist_offers_expire(event_id=offer.event_id)
        raise OfferExpired()
    if offer.status == Offer.Status.EXPIRED:
        raise OfferExpired()
    if offer.status != Offer.Status.OPEN and not (
        offer.status == Offer.Status.ACCEPTED and offer.order.status == Order.Status.PAID
    ):
        raise OfferNotOpen()
    try:
        outcome = order_pay(
            buyer=user, order_id=offer.order_id, idempotency_key=idempotency_key, source=source
        )
    except HoldExpired as exc:
        waitlist_offers_expire(event_id=offer.event_id)
        raise OfferExpired() from exc
    except DomainError:
        # A declined card released the hold (as any booking's does): the offer lapses and
        # its seat moves on to the next person in line.
        waitlist_offers_expire(event_id=offer.event_id)
        raise
    _offers_settle(event_id=offer.event_id)
    return outcome


def waitlist_offer_decline(*, user: User, token: str) -> None:
    """Pass an offer on to the next person at once."""
    offer = offer_for(user=user, token=token)
    if offer.status != Offer.Status.OPEN:
        raise OfferNotOpen()
    _offer_decline(offer_id=offer.pk)
    waitlist_promote(event_id=offer.event_id)


@transaction.atomic(durable=True)
def _offer_decline(*, offer_id: Any) -> None:
    offer = Offer.objects.select_for_update().get(pk=offer_id)
    if offer.status != Offer.Status.OPEN:
        raise OfferNotOpen()
    order_hold_cancel(order_id=offer.order_id)
    offer.status, offer.decided_at = Offer.Status.DECLINED, timezone.now()
    offer.save(update_fields=["status", "decided_at"])
    WaitlistEntry.objects.filter(pk=offer.entry_id).update(status=WaitlistEntry.Status.LEFT)


def waitlist_offer_next(*, actor: User, event_id: Any, tier_id: Any) -> int:
    """The organizer's "offer next": offer a seat of the tier now; how many offers were made."""
    event = event_managed_by(actor, event_id)
    if not event.tiers.filter(pk=tier_id).exists():
        raise UnknownTier()
    made = waitlist_promote(event_id=event.pk, only_tier_id=tier_id, manual=True)
    if not made:
        raise NothingToOffer()
    _audit_offer_next(actor=actor, event=event, tier_id=tier_id, made=made)
    return made


@transaction.atomic(durable=True)
def _audit_offer_next(*, actor: User, event: Event, tier_id: Any, made: int) -> None:
    audit_record(
        actor=actor,
        action="waitlist.offer_next",
        target=event,
        organization=event.organization,
        changes={"tier": str(tier_id), "offers": made},
    )
