"""Short references: every order and ticket gets one, by every path that inserts them."""

import re
import uuid
from collections import Counter

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from core.refs import REF_ALPHABET, REF_PATTERN, looks_like_ref, ref_display, ref_normalise
from events.models import TicketTier
from tests.factories import TicketTierFactory, UserFactory, order_paid, order_reserved
from ticketing.models import Order, Ticket

pytestmark = pytest.mark.django_db


def test_reserved_and_paid_orders_and_their_tickets_carry_a_short_reference(
    tier: TicketTier, attendee
) -> None:
    outcome = order_paid(buyer=attendee, tier=tier, quantity=3)
    order = Order.objects.get(pk=outcome.order.pk)
    refs = [order.ref, *Ticket.objects.filter(order=order).values_list("ref", flat=True)]
    assert len(refs) == 4
    assert all(re.fullmatch(REF_PATTERN, ref) for ref in refs), refs
    assert len(set(refs)) == 4


def test_an_order_built_by_the_reference_path_knows_its_reference_at_once(
    tier: TicketTier, attendee
) -> None:
    other = TicketTierFactory.create(event=tier.event)
    order = order_reserved(buyer=attendee, tier=tier)  # the single-statement path
    mixed = Order.objects.create(  # the ORM: RETURNING gives the database's reference back
        buyer=attendee,
        event=tier.event,
        currency="EUR",
        expires_at=order.expires_at,
        idempotency_key="orm",
        request_digest="x",
    )
    assert re.fullmatch(REF_PATTERN, mixed.ref)
    assert mixed.ref == Order.objects.get(pk=mixed.pk).ref
    assert Order.objects.get(pk=order.pk).ref != mixed.ref
    assert other.pk  # a second tier exists, so the event is a real multi-tier one


def test_the_alphabet_has_no_characters_people_confuse() -> None:
    assert len(REF_ALPHABET) == 31
    assert not set("0O1IL") & set(REF_ALPHABET)
    # The database's pattern and the alphabet agree character by character.
    assert {c for c in map(chr, range(33, 127)) if re.fullmatch(r"[2-9A-HJKMNP-Z]", c)} == set(
        REF_ALPHABET
    )


def test_the_database_draws_every_character_of_the_alphabet_and_nothing_else() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT string_agg(boxoffice_short_ref(), '') FROM generate_series(1, 2000)")
        drawn = cursor.fetchone()[0]
    counts = Counter(drawn)
    assert set(counts) == set(REF_ALPHABET)
    # 16,000 draws over 31 characters: about 516 each; a biased draw would stray far.
    assert min(counts.values()) > 400 and max(counts.values()) < 640, counts


def test_a_reference_is_unique_within_an_event_but_may_repeat_in_another(attendee) -> None:
    first, second = TicketTierFactory.create(), TicketTierFactory.create()
    order = order_reserved(buyer=attendee, tier=first)
    ref = Order.objects.get(pk=order.pk).ref
    other_event = order_reserved(buyer=UserFactory.create(), tier=second)
    Order.objects.filter(pk=other_event.pk).update(ref=ref)  # allowed: another event
    same_event = order_reserved(buyer=UserFactory.create(), tier=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=same_event.pk).update(ref=ref)


def test_a_malformed_reference_is_refused_by_the_database(tier: TicketTier, attendee) -> None:
    order = order_reserved(buyer=attendee, tier=tier)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(ref="K7QM0XPA")  # a zero


def test_typed_references_are_normalised_for_search() -> None:
    assert ref_normalise(" k7qm-3xpa ") == "K7QM3XPA"
    assert looks_like_ref("k7qm 3xpa")
    assert not looks_like_ref("K7QM3XP")  # too short
    assert not looks_like_ref("K7QM3XPO")  # an O is never part of one
    assert ref_display("K7QM3XPA") == "K7QM 3XPA"


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_orders_and_tickets_distinct_references() -> None:
    executor = MigrationExecutor(connection)
    before = [("ticketing", "0007_transfer_token_hash")]
    tier = TicketTierFactory.create(capacity=50)
    buyer = UserFactory.create()
    executor.migrate(before)
    try:
        with connection.cursor() as cursor:
            for n in range(30):
                order_id = uuid.uuid4()
                cursor.execute(
                    "INSERT INTO ticketing_order (id, buyer_id, event_id, status, total, currency,"
                    " expires_at, idempotency_key, request_digest, created_at, seat_ids)"
                    " VALUES (%s, %s, %s, 'paid', 0, 'EUR', now(), %s, '', now(), '{}')",
                    [order_id, buyer.pk, tier.event_id, f"k{n}"],
                )
                cursor.execute(
                    "INSERT INTO ticketing_ticket (id, order_id, event_id, tier_id, holder_id,"
                    " attendee_name, status, void_reason, qr_payload, issued_at)"
                    " VALUES (%s, %s, %s, %s, %s, 'A', 'valid', '', '', now())",
                    [uuid.uuid4(), order_id, tier.event_id, tier.pk, buyer.pk],
                )
    finally:
        executor = MigrationExecutor(connection)  # forward to the latest, for the next tests
        executor.migrate(executor.loader.graph.leaf_nodes())
    order_refs = list(Order.objects.filter(event=tier.event).values_list("ref", flat=True))
    ticket_refs = list(Ticket.objects.filter(event=tier.event).values_list("ref", flat=True))
    assert len(set(order_refs)) == len(order_refs) == 30
    assert len(set(ticket_refs)) == len(ticket_refs) == 30
    assert all(re.fullmatch(REF_PATTERN, ref) for ref in order_refs + ticket_refs)
