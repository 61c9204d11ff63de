"""checkin.services.ticket_scan and checkin.signing: admit a genuine ticket once, log every try."""

import base64
import threading
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection
from django.utils import timezone

from accounts.models import User
from checkin.errors import InvalidPayload
from checkin.models import Admission, CheckinList, Scan, SigningKey
from checkin.services import ScanResult, checkin_list_default, ticket_scan
from checkin.signing import (
    PAYLOAD_BYTES,
    payload_decode,
    payload_verify,
    signing_key_create,
    ticket_payload_sign,
)
from events.models import TicketTier
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, order_paid
from ticketing.models import Ticket


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def raw_of(payload: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def scan(payload: str, gate: CheckinList, **kwargs: Any) -> tuple[ScanResult, Scan]:
    """Scan once; asserts that exactly one Scan row was written, and returns it."""
    before = Scan.objects.count()
    result = ticket_scan(payload=payload, checkin_list=gate, scanned_by=None, **kwargs)
    assert Scan.objects.count() == before + 1
    row = Scan.objects.order_by("-scanned_at", "-id").first()
    assert row is not None
    return result, row


def test_valid_ticket_is_admitted(ticket: Ticket, gate: CheckinList) -> None:
    result, row = scan(ticket.qr_payload, gate, device_id="gate-1")

    assert result.valid
    assert (result.reason, result.message) == ("ok", "Admitted")
    assert result.attendee_name == ticket.attendee_name
    assert result.tier == ticket.tier.name
    assert result.ticket_id == str(ticket.pk)
    assert (row.result, row.reason, row.ticket_id, row.device_id) == (
        Scan.Result.ADMITTED,
        "ok",
        ticket.pk,
        "gate-1",
    )
    admission = Admission.objects.get(ticket=ticket, checkin_list=gate)
    assert admission.scan_id == row.pk


def test_second_scan_of_same_ticket_is_rejected_with_the_first_use_time(
    ticket: Ticket, gate: CheckinList
) -> None:
    first_at = timezone.now() - timedelta(minutes=5)
    scan(ticket.qr_payload, gate, scanned_at=first_at)

    result, row = scan(ticket.qr_payload, gate)

    assert not result.valid
    assert result.already_used
    assert result.reason == "already_used"
    assert result.first_used_at == first_at
    assert result.attendee_name == ticket.attendee_name
    assert (row.result, row.ticket_id) == (Scan.Result.ALREADY_USED, ticket.pk)
    assert Admission.objects.filter(ticket=ticket).count() == 1


def test_ticket_is_admitted_once_per_list(ticket: Ticket, gate: CheckinList) -> None:
    backstage = CheckinList.objects.create(event=gate.event, name="Backstage")

    assert scan(ticket.qr_payload, gate)[0].valid
    assert scan(ticket.qr_payload, backstage)[0].valid
    assert not scan(ticket.qr_payload, backstage)[0].valid
    assert Admission.objects.filter(ticket=ticket).count() == 2


def test_forged_signature_is_rejected(ticket: Ticket, gate: CheckinList) -> None:
    raw = raw_of(ticket.qr_payload)
    header = bytes(raw[: PAYLOAD_BYTES - 64])
    forged = b64(header + Ed25519PrivateKey.generate().sign(header))

    result, row = scan(forged, gate)

    assert not result.valid
    assert result.reason == "invalid_signature"
    assert (row.result, row.ticket_id) == (Scan.Result.REJECTED, None)
    assert not Admission.objects.exists()


@pytest.mark.parametrize("position", [10, 40, 70, 120, 150])
def test_altered_payload_is_rejected(ticket: Ticket, gate: CheckinList, position: int) -> None:
    """One character of the base64url text changed: the kid, ids, time or signature differ."""
    payload = ticket.qr_payload
    replacement = "A" if payload[position] != "A" else "B"
    altered = payload[:position] + replacement + payload[position + 1 :]
    assert altered != payload

    result, _ = scan(altered, gate)

    assert not result.valid
    assert result.reason in {"invalid_signature", "unknown_key"}
    assert not Admission.objects.exists()


def test_flipped_bit_in_the_ticket_id_is_an_invalid_signature(
    ticket: Ticket, gate: CheckinList
) -> None:
    raw = raw_of(ticket.qr_payload)
    raw[30] ^= 0x01  # inside the ticket id (bytes 21-36)

    result, _ = scan(b64(bytes(raw)), gate)

    assert result.reason == "invalid_signature"
    assert not Admission.objects.exists()


def test_another_events_ticket_is_rejected_as_wrong_event(
    attendee: User, gate: CheckinList
) -> None:
    other_tier = TicketTierFactory.create(
        event=EventFactory.create(organization=gate.event.organization)
    )
    other_ticket = order_paid(buyer=attendee, tier=other_tier).tickets[0]

    result, row = scan(other_ticket.qr_payload, gate)

    assert not result.valid
    assert result.reason == "wrong_event"
    assert row.result == Scan.Result.REJECTED
    assert not Admission.objects.exists()


def test_unknown_key_id_is_rejected(ticket: Ticket, gate: CheckinList) -> None:
    raw = raw_of(ticket.qr_payload)
    raw[1:5] = bytes(b ^ 0xFF for b in raw[1:5])
    assert not SigningKey.objects.filter(kid=bytes(raw[1:5]).hex()).exists()

    result, _ = scan(b64(bytes(raw)), gate)

    assert result.reason == "unknown_key"
    assert not Admission.objects.exists()


def test_ticket_signed_with_a_revoked_key_is_rejected(ticket: Ticket, gate: CheckinList) -> None:
    SigningKey.objects.filter(event=gate.event).update(revoked_at=timezone.now())

    result, _ = scan(ticket.qr_payload, gate)

    assert result.reason == "revoked_key"
    assert not Admission.objects.exists()


def test_key_rotation_keeps_earlier_tickets_valid(ticket: Ticket, gate: CheckinList) -> None:
    old_kid = payload_decode(ticket.qr_payload)[0].kid
    new_key = signing_key_create(event_id=gate.event_id)
    newer = Ticket.objects.get(pk=ticket.pk)
    newer_payload = ticket_payload_sign(newer)

    assert payload_decode(newer_payload)[0].kid == new_key.kid != old_kid
    assert payload_verify(ticket.qr_payload).ticket_id == ticket.pk
    assert scan(ticket.qr_payload, gate)[0].valid


def test_void_ticket_is_rejected_as_revoked(ticket: Ticket, gate: CheckinList) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.VOID)

    result, row = scan(ticket.qr_payload, gate)

    assert not result.valid
    assert result.reason == "revoked"
    assert (row.result, row.ticket_id) == (Scan.Result.REJECTED, ticket.pk)
    assert not Admission.objects.exists()


def test_deleted_ticket_with_a_genuine_signature_is_unknown(
    tier: TicketTier, gate: CheckinList
) -> None:
    phantom = Ticket(event_id=tier.event_id, tier_id=tier.pk)  # signed, never saved

    result, _ = scan(ticket_payload_sign(phantom), gate)

    assert result.reason == "unknown_ticket"


def test_tier_not_admitted_at_this_list_is_rejected(ticket: Ticket, gate: CheckinList) -> None:
    vip = TicketTierFactory.create(event=gate.event, name="VIP")
    vip_lounge = CheckinList.objects.create(event=gate.event, name="VIP lounge")
    vip_lounge.tiers.add(vip)

    result, _ = scan(ticket.qr_payload, vip_lounge)

    assert result.reason == "tier_not_allowed"
    assert not Admission.objects.exists()


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "hello world", "!!!!", "A" * 10, "A" * 500, "https://example.com/?t=1", "☃"],
)
def test_garbage_text_is_rejected_as_malformed(gate: CheckinList, garbage: str) -> None:
    result, row = scan(garbage, gate)

    assert not result.valid
    assert result.reason == "malformed"
    assert row.payload_excerpt == garbage[:64]


def test_wrong_version_byte_is_malformed(ticket: Ticket) -> None:
    raw = raw_of(ticket.qr_payload)
    raw[0] = 2

    with pytest.raises(InvalidPayload) as caught:
        payload_verify(b64(bytes(raw)))

    assert caught.value.reason == "malformed"


def test_every_scan_attempt_is_logged(ticket: Ticket, gate: CheckinList) -> None:
    for payload in [ticket.qr_payload, ticket.qr_payload, "junk", ticket.qr_payload[:-2]]:
        scan(payload, gate)

    assert list(Scan.objects.order_by("scanned_at").values_list("result", flat=True)) == [
        Scan.Result.ADMITTED,
        Scan.Result.ALREADY_USED,
        Scan.Result.REJECTED,
        Scan.Result.REJECTED,
    ]


@pytest.mark.parametrize(
    ("void_reason", "reason"),
    [
        ("refunded", "refunded"),
        ("transferred", "transferred"),
        ("cancelled", "cancelled"),
        ("", "revoked"),
    ],
)
def test_void_ticket_is_rejected_with_why_it_is_void(
    ticket: Ticket, gate: CheckinList, void_reason: str, reason: str
) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.VOID, void_reason=void_reason)

    result, row = scan(ticket.qr_payload, gate)

    assert (result.valid, result.reason, row.reason) == (False, reason, reason)
    assert result.attendee_name == ticket.attendee_name
    assert not Admission.objects.exists()


def test_every_rejection_case_has_its_own_reason(
    attendee: User, ticket: Ticket, gate: CheckinList
) -> None:
    """The issue's list: forged, altered, other event, unknown key, revoked key, refunded,
    transferred away, tier not on the list. Each is told apart by `reason`."""
    other_event = order_paid(
        buyer=attendee, tier=TicketTierFactory.create(event=EventFactory.create())
    ).tickets[0]
    refunded, transferred, revoked_key, other_tier = order_paid(
        buyer=attendee, tier=ticket.tier, quantity=4
    ).tickets
    Ticket.objects.filter(pk=refunded.pk).update(status="void", void_reason="refunded")
    Ticket.objects.filter(pk=transferred.pk).update(status="void", void_reason="transferred")
    old_key = SigningKey.objects.get(event=gate.event, is_current=True)
    signing_key_create(event_id=gate.event_id)
    SigningKey.objects.filter(pk=old_key.pk).update(revoked_at=timezone.now())
    raw = raw_of(ticket_payload_sign(ticket))  # signed with the current key
    header = bytes(raw[:57])
    forged = b64(header + Ed25519PrivateKey.generate().sign(header))
    altered = bytearray(raw)
    altered[40] ^= 0x01
    unknown_key = bytearray(raw)
    unknown_key[1:5] = b"\x00\x00\x00\x00"
    vip = TicketTierFactory.create(event=gate.event, name="VIP")
    vip_only = CheckinList.objects.create(event=gate.event, name="VIP only")
    vip_only.tiers.add(vip)

    reasons = {
        "forged": scan(forged, gate)[0].reason,
        "altered": scan(b64(bytes(altered)), gate)[0].reason,
        "other event": scan(other_event.qr_payload, gate)[0].reason,
        "unknown key": scan(b64(bytes(unknown_key)), gate)[0].reason,
        "revoked key": scan(revoked_key.qr_payload, gate)[0].reason,
        "refunded": scan(ticket_payload_sign(refunded), gate)[0].reason,
        "transferred": scan(ticket_payload_sign(transferred), gate)[0].reason,
        "tier": scan(ticket_payload_sign(other_tier), vip_only)[0].reason,
    }

    assert reasons == {
        "forged": "invalid_signature",
        "altered": "invalid_signature",
        "other event": "wrong_event",
        "unknown key": "unknown_key",
        "revoked key": "revoked_key",
        "refunded": "refunded",
        "transferred": "transferred",
        "tier": "tier_not_allowed",
    }
    assert not Admission.objects.exists()
    assert Scan.objects.filter(result="rejected").count() == 8


# --- Re-entry -----------------------------------------------------------------------------------


@pytest.fixture
def reentry_gate(gate: CheckinList) -> CheckinList:
    gate.allow_reentry = True
    gate.save()
    return gate


def test_reentry_list_admits_again_only_after_an_exit(
    ticket: Ticket, reentry_gate: CheckinList
) -> None:
    p = ticket.qr_payload
    steps = [
        scan(p, reentry_gate)[0],
        scan(p, reentry_gate)[0],
        scan(p, reentry_gate, direction="out")[0],
        scan(p, reentry_gate, direction="out")[0],
        scan(p, reentry_gate)[0],
        scan(p, reentry_gate)[0],
    ]

    assert [(r.valid, r.reason) for r in steps] == [
        (True, "ok"),
        (False, "already_inside"),
        (True, "exit"),
        (False, "not_inside"),
        (True, "ok"),
        (False, "already_inside"),
    ]
    admission = Admission.objects.get(ticket=ticket)
    assert admission.inside
    assert steps[1].already_used and steps[1].first_used_at == admission.admitted_at
    assert list(Scan.objects.order_by("scanned_at").values_list("result", flat=True)) == [
        "admitted",
        "already_used",
        "exited",
        "rejected",
        "admitted",
        "already_used",
    ]


def test_exit_before_any_entry_is_not_inside(ticket: Ticket, reentry_gate: CheckinList) -> None:
    result, row = scan(ticket.qr_payload, reentry_gate, direction="out")

    assert (result.valid, result.reason, row.result) == (False, "not_inside", "rejected")
    assert not Admission.objects.exists()


def test_list_without_reentry_refuses_exits_and_second_entries(
    ticket: Ticket, gate: CheckinList
) -> None:
    assert scan(ticket.qr_payload, gate)[0].valid

    exit_result, _ = scan(ticket.qr_payload, gate, direction="out")
    again, _ = scan(ticket.qr_payload, gate)

    assert (exit_result.valid, exit_result.reason) == (False, "exit_not_allowed")
    assert (again.valid, again.reason) == (False, "already_used")
    assert Admission.objects.get(ticket=ticket).inside


# --- Two gates at the same instant ---------------------------------------------------------------


def race_two_doors(settings: Any, mode: str) -> tuple[Ticket, CheckinList, list[ScanResult]]:
    """Two threads scan one ticket; the admission statements surely overlap (they pause 0.3 s
    after taking their snapshot, the test switch "checkin_race")."""
    settings.BOXOFFICE_TEST_SWITCHES = {"checkin_race": mode}
    door = MembershipFactory.create(role="door").user
    tier = TicketTierFactory.create(
        event=EventFactory.create(organization=door.organizations.get())
    )
    ticket = order_paid(buyer=door, tier=tier).tickets[0]
    gate = checkin_list_default(tier.event)
    barrier = threading.Barrier(2)
    results: list[ScanResult] = []
    errors: list[BaseException] = []

    def door_scan(device: str) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            results.append(
                ticket_scan(
                    payload=ticket.qr_payload,
                    checkin_list=gate,
                    scanned_by=door,
                    device_id=device,
                )
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=door_scan, args=(f"door-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return ticket, gate, results


@pytest.mark.django_db(transaction=True)
def test_two_doors_scanning_the_same_ticket_at_once_admit_it_exactly_once(settings: Any) -> None:
    ticket, _, results = race_two_doors(settings, "guarded")

    assert sorted(r.reason for r in results) == ["already_used", "ok"]
    assert sum(r.valid for r in results) == 1
    used = next(r for r in results if not r.valid)
    assert used.first_used_at == Admission.objects.get(ticket=ticket).admitted_at
    assert Admission.objects.filter(ticket=ticket).count() == 1
    assert sorted(Scan.objects.filter(ticket=ticket).values_list("device_id", "result")) in (
        [("door-1", "admitted"), ("door-2", "already_used")],
        [("door-1", "already_used"), ("door-2", "admitted")],
    )


@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_guard_the_race_admits_twice(settings: Any) -> None:
    """Check-then-insert without the unique constraint: the same race lets the ticket in twice,
    so the test above can see a race when there is one."""
    table = Admission._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT one_admission_per_ticket_and_list")
    try:
        ticket, _, results = race_two_doors(settings, "unguarded")

        assert [r.reason for r in results] == ["ok", "ok"]
        assert Admission.objects.filter(ticket=ticket).count() == 2
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - model metadata
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT one_admission_per_ticket_and_list "
                "UNIQUE (ticket_id, checkin_list_id)"
            )
