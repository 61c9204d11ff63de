"""Vouchers: find a code, price an order with it, count its uses exactly once.

A use is counted by one conditional UPDATE (`used = used + 1 WHERE used < max_uses`) in the
transaction that places the order, under `CHECK (used <= max_uses)`: of any number of buyers
racing for a code's last use, exactly one order gets it. The booking core calls
`voucher_redeem` when it places an order, `voucher_release` when a hold lapses or an order is
cancelled, and `voucher_reclaim` when a lapsed order is held again.
"""

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.refs import REF_ALPHABET
from core.testswitches import switch_on
from events.models import Event, TicketTier
from vouchers.errors import VoucherExhausted, VoucherExpired, VoucherInvalid
from vouchers.models import Voucher, VoucherRedemption

CENT = Decimal("0.01")
GENERATED_CODE_LENGTH = 10


def code_normalise(code: str) -> str:
    """A code as stored: upper case, without spaces (people type and paste them loosely)."""
    return "".join((code or "").split()).upper()


def voucher_find(*, event_id: Any, code: str, now: datetime) -> Voucher:
    """The event's voucher for `code`, usable at `now`, with its tiers loaded."""
    normalised = code_normalise(code)
    voucher = (
        Voucher.objects.filter(event_id=event_id, code=normalised).prefetch_related("tiers").first()
        if 0 < len(normalised) <= 40
        else None
    )
    if voucher is None:
        raise VoucherInvalid(_("There is no voucher with this code for this event."))
    if voucher.valid_from is not None and now < voucher.valid_from:
        raise VoucherInvalid(_("This voucher code is not valid yet."))
    if voucher.valid_until is not None and now >= voucher.valid_until:
        raise VoucherExpired()
    if voucher.used >= voucher.max_uses:
        raise VoucherExhausted()
    return voucher


def voucher_unit_price(voucher: Voucher, price: Decimal) -> Decimal:
    """One ticket's price with the voucher: a share of it off, or an amount (never below 0)."""
    if voucher.kind == Voucher.Kind.PERCENT:
        off = (price * voucher.value / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        off = voucher.value
    return max(price - off, Decimal("0")).quantize(CENT)


def _covers(voucher: Voucher, tier: TicketTier) -> bool:
    named = {t.pk for t in voucher.tiers.all()}
    return tier.pk in named if named else not tier.requires_voucher


@dataclass(frozen=True)
class Pricing:
    """What each tier of an order costs per ticket, and the order's total and discount."""

    unit_prices: dict[str, Decimal]
    total: Decimal
    discount: Decimal


def order_pricing(
    *, tiers: Mapping[str, TicketTier], wanted: Mapping[str, int], voucher: Voucher | None
) -> Pricing:
    """Price `wanted` (tier id -> quantity) of `tiers`, with the voucher if there is one.

    A tier sold only with a voucher is refused unless the voucher names it; a voucher that
    covers none of the tiers asked for is refused rather than silently ignored.
    """
    unit_prices: dict[str, Decimal] = {}
    covered = False
    for tier_id, tier in tiers.items():
        applies = voucher is not None and _covers(voucher, tier)
        if tier.requires_voucher and not applies:
            # Sold only with a code that names it: no code, or another code, is not enough.
            raise VoucherInvalid(_("These tickets need a voucher code that unlocks them."))
        covered = covered or applies
        unit_prices[tier_id] = (
            voucher_unit_price(voucher, tier.price)
            if voucher is not None and applies
            else tier.price
        )
    if voucher is not None and not covered:
        raise VoucherInvalid(_("This voucher code is not valid for the tickets you chose."))
    total = sum((unit_prices[t] * q for t, q in wanted.items()), Decimal("0"))
    list_total = sum((tiers[t].price * q for t, q in wanted.items()), Decimal("0"))
    return Pricing(unit_prices=unit_prices, total=total, discount=list_total - total)


def _claim_use(voucher_id: Any) -> bool:
    """Count one use in a conditional UPDATE; False when the code has none left."""
    if switch_on("voucher_unlocked"):
        # Test-only negative control: check, pause, then write without the condition.
        fresh = Voucher.objects.get(pk=voucher_id)
        if fresh.used >= fresh.max_uses:
            return False
        time.sleep(0.05)
        Voucher.objects.filter(pk=voucher_id).update(used=fresh.used + 1)
        return True
    return bool(
        Voucher.objects.filter(pk=voucher_id, used__lt=F("max_uses")).update(used=F("used") + 1)
    )


def voucher_redeem(
    *, voucher: Voucher, order_id: Any, buyer: User, discount: Decimal
) -> VoucherRedemption:
    """Count one use of `voucher` for a new order, in the caller's (the order's) transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("voucher_redeem runs in the order's transaction")
    if voucher.per_buyer_limit is not None:
        # One buyer's concurrent orders line up here, so the limit holds for them too.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"voucher:{voucher.pk}:{buyer.pk}"],
            )
        mine = VoucherRedemption.objects.filter(
            voucher=voucher, buyer=buyer, released_at=None
        ).count()
        if mine >= voucher.per_buyer_limit:
            raise VoucherExhausted(
                _("You have already used this voucher code as often as allowed.")
            )
    if not _claim_use(voucher.pk):
        raise VoucherExhausted()
    return VoucherRedemption.objects.create(
        voucher=voucher, order_id=order_id, buyer=buyer, discount=discount
    )


def voucher_release(*, order_id: Any) -> bool:
    """Give back the use an order made of a code (its hold lapsed, it was cancelled).

    The caller holds the order's row lock, so a use is given back once. True if one was.
    """
    redemption = (
        VoucherRedemption.objects.filter(order_id=order_id, released_at=None)
        .only("pk", "voucher_id")
        .first()
    )
    if redemption is None:
        return False
    VoucherRedemption.objects.filter(pk=redemption.pk).update(released_at=timezone.now())
    Voucher.objects.filter(pk=redemption.voucher_id).update(used=F("used") - 1)
    return True


def voucher_reclaim(*, order_id: Any) -> bool:
    """Count the use again for an order held again after its hold lapsed; False when the code
    has no use left (the order then cannot be held at its discounted price). No code: True."""
    redemption = (
        VoucherRedemption.objects.filter(order_id=order_id, released_at__isnull=False)
        .only("pk", "voucher_id")
        .first()
    )
    if redemption is None:
        return True
    if not _claim_use(redemption.voucher_id):
        return False
    VoucherRedemption.objects.filter(pk=redemption.pk).update(released_at=None)
    return True


# --- The organizer's side --------------------------------------------------------------------


@dataclass(frozen=True)
class VoucherSpec:
    kind: str
    value: Decimal
    max_uses: int = 1
    per_buyer_limit: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    tier_ids: tuple[Any, ...] = ()


def _generated_code(prefix: str) -> str:
    body = "".join(secrets.choice(REF_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))
    return f"{code_normalise(prefix)}{body}"


@transaction.atomic(durable=True)
def vouchers_create(
    *,
    actor: User,
    event: Event,
    spec: VoucherSpec,
    code: str = "",
    count: int = 1,
    prefix: str = "",
) -> list[Voucher]:
    """One voucher with `code`, or `count` with generated codes (a batch named by `prefix`)."""
    tiers = list(event.tiers.filter(pk__in=spec.tier_ids))
    if len(tiers) != len(set(spec.tier_ids)):
        raise VoucherInvalid(_("Choose tiers of this event."))
    fields: dict[str, Any] = {
        "event": event,
        "kind": spec.kind,
        "value": spec.value,
        "max_uses": spec.max_uses,
        "per_buyer_limit": spec.per_buyer_limit,
        "valid_from": spec.valid_from,
        "valid_until": spec.valid_until,
    }
    if code:
        codes = [code_normalise(code)]
        if Voucher.objects.filter(event=event, code=codes[0]).exists():
            raise VoucherInvalid(_("This event already has a voucher with this code."))
    else:
        codes = _fresh_codes(event, prefix, count)
    batch = code_normalise(prefix) or (
        timezone.now().strftime("batch-%Y%m%d-%H%M") if count > 1 else ""
    )
    try:
        with transaction.atomic():
            vouchers = Voucher.objects.bulk_create(
                Voucher(code=c, batch=batch if not code else "", **fields) for c in codes
            )
    except IntegrityError as exc:  # a code made meanwhile by someone else: rare, say so
        raise VoucherInvalid(_("A code was taken meanwhile; try again.")) from exc
    through = Voucher.tiers.through
    through.objects.bulk_create(
        through(voucher_id=v.pk, tickettier_id=t.pk) for v in vouchers for t in tiers
    )
    audit_record(
        actor=actor,
        action="voucher.create",
        target=event,
        organization=event.organization,
        changes={
            "codes": len(vouchers),
            "first": vouchers[0].code,
            "kind": spec.kind,
            "value": str(spec.value),
            "max_uses": spec.max_uses,
        },
    )
    return vouchers


def _fresh_codes(event: Event, prefix: str, count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        wanted = {_generated_code(prefix) for _ in range(count - len(codes))}
        taken = set(
            Voucher.objects.filter(event=event, code__in=wanted).values_list("code", flat=True)
        )
        codes |= wanted - taken
    return sorted(codes)


@dataclass(frozen=True)
class VoucherFigures:
    codes: int
    uses_allowed: int
    used: int
    paid_orders: int
    discount_paid: Decimal


def voucher_figures(event_id: Any) -> VoucherFigures:
    """How the event's codes were used: live uses, paid orders and the discount they got."""
    totals = Voucher.objects.filter(event_id=event_id).aggregate(
        codes=Count("pk"), allowed=Sum("max_uses"), used=Sum("used")
    )
    paid = VoucherRedemption.objects.filter(
        voucher__event_id=event_id, released_at=None, order__status="paid"
    ).aggregate(orders=Count("pk"), discount=Sum("discount"))
    return VoucherFigures(
        codes=totals["codes"] or 0,
        uses_allowed=totals["allowed"] or 0,
        used=totals["used"] or 0,
        paid_orders=paid["orders"] or 0,
        discount_paid=paid["discount"] or Decimal("0"),
    )


def vouchers_usage(event_id: Any) -> QuerySet[Voucher]:
    """The event's vouchers with their paid orders and discount given, newest first."""
    paid = Q(redemptions__released_at=None, redemptions__order__status="paid")
    return (
        Voucher.objects.filter(event_id=event_id)
        .prefetch_related("tiers")
        .annotate(
            paid_orders=Count("redemptions", filter=paid),
            discount_paid=Sum("redemptions__discount", filter=paid),
        )
    )
