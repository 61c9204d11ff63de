"""Live attendance: admitted / expected per list and tier, a filtered scan log, cheap polling."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from checkin.models import CheckinList
from checkin.services import OfflineScan, checkin_list_default, scans_sync, ticket_scan
from events.models import Event, TicketTier
from tests.factories import EventFactory, TicketTierFactory, order_paid


@pytest.fixture
def manager(client: Client, organizer: User) -> Client:
    client.force_login(organizer)
    return client


@pytest.fixture
def scene(event: Event, tier: TicketTier, organizer: User) -> dict[str, object]:
    """Two tiers, two lists (all tiers; VIP only), a few scans including a reject and a conflict."""
    vip = TicketTierFactory.create(event=event, name="VIP", price=90)
    main = checkin_list_default(event)
    lounge = CheckinList.objects.create(event=event, name="Lounge")
    lounge.tiers.add(vip)
    regular = order_paid(buyer=organizer, tier=tier, quantity=3).tickets
    vips = order_paid(buyer=organizer, tier=vip, quantity=2).tickets
    for t in [regular[0], regular[1], vips[0]]:
        assert ticket_scan(payload=t.qr_payload, checkin_list=main, scanned_by=None).valid
    ticket_scan(payload=regular[0].qr_payload, checkin_list=main, scanned_by=None)  # used
    ticket_scan(payload=regular[2].qr_payload, checkin_list=lounge, scanned_by=None)  # tier
    ticket_scan(payload=vips[0].qr_payload, checkin_list=lounge, scanned_by=None)
    scans_sync(  # an offline phone admitted regular[1] again, earlier than the online scan
        checkin_list=main,
        scans=[
            OfflineScan(
                client_scan_id=uuid.uuid4(),
                payload=regular[1].qr_payload,
                scanned_at=timezone.now() - timedelta(minutes=5),
                local_result="admitted",
            )
        ],
        scanned_by=None,
    )
    return {"main": main, "lounge": lounge, "vip": vip, "tier": tier}


def test_attendance_counts_per_list_and_tier(manager: Client, event: Event, scene: dict) -> None:
    data = manager.get(f"/manage/events/{event.pk}/attendance.json").json()

    by_list = {row["name"]: row for row in data["lists"]}
    main, lounge = by_list["Main entrance"], by_list["Lounge"]
    assert (main["admitted"], main["expected"], main["conflicts"]) == (3, 5, 1)
    assert {t["name"]: (t["admitted"], t["expected"]) for t in main["tiers"]} == {
        scene["tier"].name: (2, 3),
        "VIP": (1, 2),
    }
    assert (lounge["admitted"], lounge["expected"]) == (1, 2)
    assert [t["name"] for t in lounge["tiers"]] == ["VIP"]


@pytest.mark.parametrize(
    ("show", "expected"),
    [
        ("all", 7),
        ("rejects", 2),
        ("conflicts", 1),
        ("offline", 1),
    ],
)
def test_scan_log_filters(
    manager: Client, event: Event, scene: dict, show: str, expected: int
) -> None:
    data = manager.get(f"/manage/events/{event.pk}/attendance.json?show={show}").json()

    assert len(data["scans"]) == expected
    if show == "rejects":
        assert {s["reason"] for s in data["scans"]} == {"already_used", "tier_not_allowed"}
    if show == "conflicts":
        assert data["scans"][0]["conflict"] and data["scans"][0]["offline"]


def test_scan_log_filter_by_list(manager: Client, event: Event, scene: dict) -> None:
    lounge = scene["lounge"]

    data = manager.get(f"/manage/events/{event.pk}/attendance.json?list={lounge.pk}").json()

    assert {s["list"] for s in data["scans"]} == {"Lounge"}
    bad = manager.get(f"/manage/events/{event.pk}/attendance.json?list=nope")
    assert bad.status_code == 200
    assert bad.json()["scans"] == []


def test_polling_with_the_etag_is_304_until_a_scan_happens(
    manager: Client, event: Event, scene: dict, organizer: User
) -> None:
    url = f"/manage/events/{event.pk}/attendance.json"
    first = manager.get(url)
    etag = first["ETag"]

    unchanged = manager.get(url, headers={"If-None-Match": etag})
    fresh = order_paid(buyer=organizer, tier=scene["tier"]).tickets[0]
    ticket_scan(payload=fresh.qr_payload, checkin_list=scene["main"], scanned_by=None)
    changed = manager.get(url, headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    main = next(r for r in changed.json()["lists"] if r["name"] == "Main entrance")
    assert (main["admitted"], main["expected"]) == (4, 6)


def test_attendance_page_renders_figures_and_log(
    manager: Client, event: Event, scene: dict
) -> None:
    response = manager.get(f"/manage/events/{event.pk}/attendance/?show=conflicts")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Main entrance" in html and "Lounge" in html
    assert "conflict" in html
    assert 'data-url="/manage/events/' in html


def test_attendance_is_a_constant_number_of_queries(
    manager: Client, event: Event, scene: dict, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(14):
        manager.get(f"/manage/events/{event.pk}/attendance.json")


def test_attendance_of_another_organizations_event_is_404(manager: Client, db: None) -> None:
    other = EventFactory.create()

    assert manager.get(f"/manage/events/{other.pk}/attendance/").status_code == 404
    assert manager.get(f"/manage/events/{other.pk}/attendance.json").status_code == 404


def test_door_staff_do_not_see_attendance(client: Client, door_staff: User, event: Event) -> None:
    client.force_login(door_staff)

    assert client.get(f"/manage/events/{event.pk}/attendance/").status_code == 404
