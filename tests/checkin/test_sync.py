"""Offline sync and the bundle: scans land once, the earliest wins, conflicts are flagged."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from checkin.models import Admission, CheckinList, Scan, SigningKey
from checkin.selectors import checkin_bundle
from checkin.services import (
    OfflineScan,
    ScanResult,
    scans_sync,
    signing_key_rotate,
    ticket_scan,
)
from events.models import Event, TicketTier
from tests.factories import TicketTierFactory, order_paid
from ticketing.models import Ticket

T0 = timezone.now() - timedelta(minutes=30)


def offline(payload: str, at: datetime, local: str = "admitted", **kwargs: str) -> OfflineScan:
    return OfflineScan(
        client_scan_id=uuid.uuid4(),
        payload=payload,
        scanned_at=at,
        local_result=local,
        direction=kwargs.get("direction", "in"),
    )


def test_sync_records_each_scan_once_however_often_it_is_sent(
    ticket: Ticket, gate: CheckinList
) -> None:
    batch = [offline(ticket.qr_payload, T0), offline(ticket.qr_payload, T0 + timedelta(seconds=5))]

    first = scans_sync(checkin_list=gate, scans=batch, scanned_by=None, device_id="phone")
    again = scans_sync(checkin_list=gate, scans=batch, scanned_by=None, device_id="phone")

    assert [r.reason for r in first.values()] == ["ok", "already_used"]
    assert [(r.reason, r.extra.get("duplicate")) for r in again.values()] == [
        ("ok", True),
        ("already_used", True),
    ]
    assert Scan.objects.count() == 2
    assert Admission.objects.get().admitted_at == T0


def test_two_offline_devices_earlier_scan_wins_when_it_syncs_last(
    ticket: Ticket, gate: CheckinList
) -> None:
    early = offline(ticket.qr_payload, T0)
    late = offline(ticket.qr_payload, T0 + timedelta(minutes=2))

    (late_result,) = scans_sync(checkin_list=gate, scans=[late], scanned_by=None).values()
    (early_result,) = scans_sync(checkin_list=gate, scans=[early], scanned_by=None).values()

    assert (late_result.valid, late_result.conflict) == (True, False)
    assert (early_result.valid, early_result.conflict) == (True, True)
    admission = Admission.objects.get(ticket=ticket)
    early_row = Scan.objects.get(client_scan_id=early.client_scan_id)
    late_row = Scan.objects.get(client_scan_id=late.client_scan_id)
    assert (admission.scan_id, admission.admitted_at) == (early_row.pk, T0)
    assert early_row.conflict_with_id == late_row.pk
    assert Admission.objects.count() == 1


def test_two_offline_devices_later_scan_is_flagged_when_it_syncs_last(
    ticket: Ticket, gate: CheckinList
) -> None:
    early = offline(ticket.qr_payload, T0)
    late = offline(ticket.qr_payload, T0 + timedelta(minutes=2))

    scans_sync(checkin_list=gate, scans=[early], scanned_by=None)
    (late_result,) = scans_sync(checkin_list=gate, scans=[late], scanned_by=None).values()

    assert (late_result.reason, late_result.conflict) == ("already_used", True)
    late_row = Scan.objects.get(client_scan_id=late.client_scan_id)
    assert late_row.result == "already_used"
    assert late_row.conflict_with_id == Admission.objects.get(ticket=ticket).scan_id
    assert Admission.objects.get(ticket=ticket).admitted_at == T0


def test_an_online_admission_after_an_offline_one_is_overtaken_by_it(
    ticket: Ticket, gate: CheckinList
) -> None:
    online = ticket_scan(payload=ticket.qr_payload, checkin_list=gate, scanned_by=None)
    early = offline(ticket.qr_payload, T0)

    (result,) = scans_sync(checkin_list=gate, scans=[early], scanned_by=None).values()

    assert (result.valid, result.conflict) == (True, True)
    assert Admission.objects.get(ticket=ticket).admitted_at == T0
    assert str(Scan.objects.get(client_scan_id=early.client_scan_id).conflict_with_id) == (
        online.scan_id
    )


def test_offline_admission_of_a_ticket_refunded_meanwhile_is_a_flagged_reject(
    ticket: Ticket, gate: CheckinList
) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status="void", void_reason="refunded")

    (result,) = scans_sync(
        checkin_list=gate, scans=[offline(ticket.qr_payload, T0)], scanned_by=None
    ).values()

    assert (result.valid, result.reason, result.conflict) == (False, "refunded", True)
    assert not Admission.objects.exists()


def test_offline_rejects_that_the_server_also_rejects_are_not_conflicts(
    gate: CheckinList,
) -> None:
    (result,) = scans_sync(
        checkin_list=gate, scans=[offline("junk", T0, local="rejected")], scanned_by=None
    ).values()

    assert (result.reason, result.conflict) == ("malformed", False)


def test_scans_are_applied_in_the_order_they_were_made(ticket: Ticket, gate: CheckinList) -> None:
    gate.allow_reentry = True
    gate.save()
    p = ticket.qr_payload
    batch = [
        offline(p, T0 + timedelta(seconds=20), direction="in"),
        offline(p, T0 + timedelta(seconds=10), local="exited", direction="out"),
        offline(p, T0, direction="in"),
    ]

    results = scans_sync(checkin_list=gate, scans=batch, scanned_by=None)

    by_id = {str(s.client_scan_id): results[str(s.client_scan_id)].reason for s in batch}
    assert [by_id[str(s.client_scan_id)] for s in reversed(batch)] == ["ok", "exit", "ok"]
    assert not any(r.conflict for r in results.values())


# --- Over HTTP, as the scanner page sends it ----------------------------------------------------


@pytest.fixture
def door_client(client: Client, door_staff: User) -> Client:
    client.force_login(door_staff)
    return client


def test_sync_endpoint_reports_broken_entries_and_keeps_the_rest(
    door_client: Client, event: Event, ticket: Ticket
) -> None:
    good = str(uuid.uuid4())
    body = {
        "device_id": "phone-9",
        "scans": [
            {
                "client_scan_id": good,
                "payload": ticket.qr_payload,
                "scanned_at": T0.isoformat(),
                "local_result": "admitted",
            },
            {"client_scan_id": "not-a-uuid", "payload": "x", "scanned_at": T0.isoformat()},
            {"client_scan_id": str(uuid.uuid4()), "payload": "x", "scanned_at": "yesterday"},
            "garbage",
        ],
    }

    response = door_client.post(
        f"/door/{event.pk}/sync", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 200
    data = response.json()
    assert [(r["client_scan_id"], r["reason"]) for r in data["results"]] == [(good, "ok")]
    assert len(data["invalid"]) == 3
    assert data["counts"]["admitted"] == 1
    assert Scan.objects.get().device_id == "phone-9"


@pytest.mark.parametrize("raw", ["[]", "{}", '{"scans": 3}', "nope"])
def test_sync_endpoint_with_no_scan_list_is_400(
    door_client: Client, event: Event, raw: str
) -> None:
    response = door_client.post(f"/door/{event.pk}/sync", raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_JSON"


def test_bundle_holds_keys_revocations_admissions_names_and_tiers(
    door_client: Client, event: Event, tier: TicketTier, gate: CheckinList, organizer: User
) -> None:
    buyer = order_paid(buyer=organizer, tier=tier, quantity=3).tickets
    admitted, refunded, waiting = buyer
    Ticket.objects.filter(pk=refunded.pk).update(status="void", void_reason="refunded")
    ticket_scan(payload=admitted.qr_payload, checkin_list=gate, scanned_by=None)
    old = SigningKey.objects.get(event=event)
    new = signing_key_rotate(event=event, actor=organizer)
    SigningKey.objects.filter(pk=old.pk).update(revoked_at=timezone.now())
    other_tier = TicketTierFactory.create(event=event, name="Balcony")

    bundle = door_client.get(f"/door/{event.pk}/bundle?list={gate.pk}").json()

    assert [k["kid"] for k in bundle["keys"]] == [new.kid]  # revoked keys are left out
    tiers = [name for _, name in bundle["tiers"]]
    assert set(tiers) == {tier.name, other_tier.name}
    assert {t[0]: (t[1], tiers[t[2]]) for t in bundle["tickets"]} == {
        str(admitted.pk): (admitted.attendee_name, tier.name),
        str(waiting.pk): (waiting.attendee_name, tier.name),
    }
    assert bundle["revoked"] == [[str(refunded.pk), "refunded"]]
    assert [a[0] for a in bundle["admitted"]] == [str(admitted.pk)]
    assert bundle["counts"] == {"admitted": 1, "inside": 1, "expected": 2}
    assert bundle["list"] == {
        "id": str(gate.pk),
        "name": gate.name,
        "allow_reentry": False,
        "tiers": [],
    }


def test_bundle_is_a_constant_number_of_queries(
    event: Event,
    tier: TicketTier,
    gate: CheckinList,
    organizer: User,
    django_assert_max_num_queries,
) -> None:
    order_paid(buyer=organizer, tier=tier, quantity=5)
    gate = CheckinList.objects.select_related("event").get(pk=gate.pk)

    with django_assert_max_num_queries(7):
        checkin_bundle(gate)


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_synced_twice_at_once_is_recorded_once() -> None:
    import threading

    from django.db import connection

    from checkin.services import checkin_list_default
    from tests.factories import EventFactory, MembershipFactory

    door = MembershipFactory.create(role="door").user
    tier = TicketTierFactory.create(
        event=EventFactory.create(organization=door.organizations.get())
    )
    tickets = order_paid(buyer=door, tier=tier, quantity=5).tickets
    gate = checkin_list_default(tier.event)
    batch = [offline(t.qr_payload, T0 + timedelta(seconds=n)) for n, t in enumerate(tickets)]
    barrier = threading.Barrier(2)
    answers: list[dict[str, ScanResult]] = []
    errors: list[BaseException] = []

    def phone() -> None:
        try:
            barrier.wait(timeout=30)
            answers.append(scans_sync(checkin_list=gate, scans=batch, scanned_by=door))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=phone) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert Scan.objects.count() == 5
    assert Admission.objects.count() == 5
    for answer in answers:
        assert {r.reason for r in answer.values()} == {"ok"}
