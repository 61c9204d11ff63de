"""The organizer's check-in setup: lists with tiers and re-entry, device links, signing keys."""

import json
import re

import pytest
from django.test import Client

from accounts.models import AuditEntry, User
from checkin.errors import KeyInUse
from checkin.models import Admission, CheckinList, DeviceLink, Scan, SigningKey
from checkin.services import (
    checkin_list_default,
    device_link_create,
    device_link_revoke,
    signing_key_revoke,
    signing_key_rotate,
    ticket_scan,
)
from checkin.signing import payload_decode, payload_verify
from core.errors import NotFound
from events.models import Event, TicketTier
from tests.checkin.test_qr import decode_svg
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, order_paid
from ticketing.models import Ticket


@pytest.fixture
def manager(client: Client, organizer: User) -> Client:
    client.force_login(organizer)
    return client


# --- Lists -------------------------------------------------------------------------------------


def test_organizer_creates_a_list_for_chosen_tiers_with_reentry(
    manager: Client, event: Event, tier: TicketTier
) -> None:
    vip = TicketTierFactory.create(event=event, name="VIP")

    response = manager.post(
        f"/manage/events/{event.pk}/checkin/lists/new",
        {"name": "VIP lounge", "tiers": [str(vip.pk)], "allow_reentry": "on"},
    )

    assert response.status_code == 302
    lounge = CheckinList.objects.get(event=event, name="VIP lounge")
    assert list(lounge.tiers.all()) == [vip]
    assert lounge.allow_reentry
    assert AuditEntry.objects.filter(action="checkin_list.create", target_id=str(lounge.pk))


def test_duplicate_list_name_is_a_form_error(manager: Client, event: Event) -> None:
    checkin_list_default(event)

    response = manager.post(
        f"/manage/events/{event.pk}/checkin/lists/new", {"name": "Main entrance"}
    )

    assert response.status_code == 422
    assert "already has a check-in list" in response.content.decode()
    assert CheckinList.objects.filter(event=event).count() == 1


def test_organizer_changes_a_lists_tiers_and_reentry(
    manager: Client, event: Event, tier: TicketTier
) -> None:
    gate = checkin_list_default(event)
    prefix = f"l{gate.pk.hex[:8]}"

    response = manager.post(
        f"/manage/events/{event.pk}/checkin/lists/{gate.pk}",
        {f"{prefix}-tiers": [str(tier.pk)], f"{prefix}-allow_reentry": "on"},
    )

    assert response.status_code == 302
    gate.refresh_from_db()
    assert gate.allow_reentry
    assert list(gate.tiers.all()) == [tier]


def test_door_staff_cannot_open_the_setup_page(
    client: Client, door_staff: User, event: Event
) -> None:
    client.force_login(door_staff)

    assert client.get(f"/manage/events/{event.pk}/checkin/").status_code == 404
    assert client.post(f"/manage/events/{event.pk}/checkin/keys/rotate").status_code == 404
    assert not SigningKey.objects.filter(event=event).exists()


def test_setup_page_of_another_organizations_event_is_404(manager: Client) -> None:
    assert manager.get(f"/manage/events/{EventFactory.create().pk}/checkin/").status_code == 404


# --- Device links --------------------------------------------------------------------------------


def test_device_link_is_shown_once_as_text_and_a_qr_code_that_decodes_to_it(
    manager: Client, event: Event
) -> None:
    gate = checkin_list_default(event)

    response = manager.post(
        f"/manage/events/{event.pk}/checkin/links/new",
        {"checkin_list": str(gate.pk), "label": "Sam at gate B"},
    )

    html = response.content.decode()
    url = re.search(r'id="new-link-url">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    assert "/door/link/bod_" in url
    svg = re.search(r'<div class="qr">(<svg.*?</svg>)', html, flags=re.DOTALL).group(1)  # type: ignore[union-attr]
    assert decode_svg(svg) == [url]
    link = DeviceLink.objects.get()
    assert (link.label, link.checkin_list_id) == ("Sam at gate B", gate.pk)
    assert url.split("/door/link/")[1].rstrip("/") not in link.token_digest
    assert url not in manager.get(f"/manage/events/{event.pk}/checkin/").content.decode()


def test_volunteer_scans_with_a_device_link_and_no_account(
    client: Client, event: Event, organizer: User, ticket: Ticket
) -> None:
    gate = checkin_list_default(event)
    link, token = device_link_create(checkin_list=gate, actor=organizer, label="Sam")

    page = client.get(f"/door/link/{token}/")
    scanned = client.post(
        f"/door/link/{token}/scan",
        json.dumps({"payload": ticket.qr_payload, "device_id": "sams-phone"}),
        content_type="application/json",
    )
    bundle = client.get(f"/door/link/{token}/bundle")
    stats = client.get(f"/door/link/{token}/stats")

    assert page.status_code == 200
    assert scanned.json()["valid"]
    assert bundle.json()["counts"]["admitted"] == 1
    assert stats.json() == {"admitted": 1, "inside": 1, "expected": 1}
    row = Scan.objects.get()
    assert (row.device_link_id, row.scanned_by_id, row.device_id) == (link.pk, None, "sams-phone")


def test_revoked_device_link_stops_working_at_once(
    client: Client, event: Event, organizer: User, ticket: Ticket
) -> None:
    gate = checkin_list_default(event)
    link, token = device_link_create(checkin_list=gate, actor=organizer, label="Sam")
    assert client.get(f"/door/link/{token}/").status_code == 200

    device_link_revoke(link=link, actor=organizer)

    assert client.get(f"/door/link/{token}/").status_code == 410
    scanned = client.post(
        f"/door/link/{token}/scan",
        json.dumps({"payload": ticket.qr_payload}),
        content_type="application/json",
    )
    assert scanned.status_code == 410
    assert scanned.json()["error"]["code"] == "DEVICE_LINK_REVOKED"
    assert client.get(f"/door/link/{token}/bundle").status_code == 410
    assert not Scan.objects.exists()
    assert not Admission.objects.exists()


def test_a_link_object_revoked_while_in_hand_is_refused_by_the_scan_itself(
    event: Event, organizer: User, ticket: Ticket
) -> None:
    """The page may have loaded the link a moment before revocation: the scan re-checks it."""
    gate = checkin_list_default(event)
    link, _ = device_link_create(checkin_list=gate, actor=organizer, label="Sam")
    DeviceLink.objects.filter(pk=link.pk).update(revoked_at=ticket.issued_at)

    with pytest.raises(NotFound):
        ticket_scan(payload=ticket.qr_payload, checkin_list=gate, scanned_by=None, device_link=link)

    assert not Scan.objects.exists()


def test_device_link_scans_only_its_own_list(event: Event, organizer: User, ticket: Ticket) -> None:
    gate = checkin_list_default(event)
    backstage = CheckinList.objects.create(event=event, name="Backstage")
    link, _ = device_link_create(checkin_list=gate, actor=organizer, label="Sam")

    with pytest.raises(NotFound):
        ticket_scan(
            payload=ticket.qr_payload, checkin_list=backstage, scanned_by=None, device_link=link
        )


def test_unknown_device_link_is_404(client: Client, db: None) -> None:
    assert client.get("/door/link/bod_nothing/").status_code == 404
    assert client.post("/door/link/bod_nothing/scan", "{}", "application/json").status_code == 404


def test_organizer_revokes_a_link_from_the_page(
    manager: Client, event: Event, organizer: User
) -> None:
    link, _ = device_link_create(
        checkin_list=checkin_list_default(event), actor=organizer, label="Sam"
    )

    response = manager.post(f"/manage/events/{event.pk}/checkin/links/{link.pk}/revoke")

    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert AuditEntry.objects.filter(action="device_link.revoke", target_id=str(link.pk))


def test_door_member_of_another_organization_cannot_scan_this_list(
    event: Event, ticket: Ticket
) -> None:
    stranger = MembershipFactory.create(role="door").user

    with pytest.raises(NotFound):
        ticket_scan(
            payload=ticket.qr_payload, checkin_list=checkin_list_default(event), scanned_by=stranger
        )

    assert not Scan.objects.exists()


# --- Keys --------------------------------------------------------------------------------------


def test_rotate_button_makes_a_new_current_key_and_old_tickets_still_scan(
    manager: Client, event: Event, ticket: Ticket, organizer: User
) -> None:
    old = SigningKey.objects.get(event=event)

    response = manager.post(f"/manage/events/{event.pk}/checkin/keys/rotate")

    assert response.status_code == 302
    new = SigningKey.objects.get(event=event, is_current=True)
    assert new.kid != old.kid
    old.refresh_from_db()
    assert (old.is_current, old.revoked_at) == (False, None)
    fresh = order_paid(buyer=organizer, tier=ticket.tier).tickets[0]
    assert payload_decode(fresh.qr_payload)[0].kid == new.kid
    gate = checkin_list_default(event)
    assert ticket_scan(payload=ticket.qr_payload, checkin_list=gate, scanned_by=None).valid
    assert ticket_scan(payload=fresh.qr_payload, checkin_list=gate, scanned_by=None).valid
    assert AuditEntry.objects.filter(action="signing_key.rotate", target_id=str(new.pk))


def test_revoking_an_old_key_reissues_its_tickets_and_refuses_the_old_codes(
    manager: Client, event: Event, ticket: Ticket, organizer: User
) -> None:
    old = SigningKey.objects.get(event=event)
    old_payload = ticket.qr_payload
    void = order_paid(buyer=organizer, tier=ticket.tier).tickets[0]
    Ticket.objects.filter(pk=void.pk).update(status="void", void_reason="refunded")
    new = signing_key_rotate(event=event, actor=organizer)

    response = manager.post(f"/manage/events/{event.pk}/checkin/keys/{old.kid}/revoke")

    assert response.status_code == 302
    ticket.refresh_from_db()
    void.refresh_from_db()
    assert payload_decode(ticket.qr_payload)[0].kid == new.kid
    assert payload_verify(ticket.qr_payload).ticket_id == ticket.pk
    assert payload_decode(void.qr_payload)[0].kid == old.kid  # void tickets are not re-issued
    gate = checkin_list_default(event)
    stale = ticket_scan(payload=old_payload, checkin_list=gate, scanned_by=None)
    assert stale.reason == "revoked_key"
    assert ticket_scan(payload=ticket.qr_payload, checkin_list=gate, scanned_by=None).valid
    entry = AuditEntry.objects.get(action="signing_key.revoke")
    assert entry.changes["tickets_resigned"] == 1


def test_the_current_key_cannot_be_revoked(event: Event, ticket: Ticket, organizer: User) -> None:
    current = SigningKey.objects.get(event=event, is_current=True)

    with pytest.raises(KeyInUse):
        signing_key_revoke(key=current, actor=organizer)

    current.refresh_from_db()
    assert current.revoked_at is None


def test_my_tickets_page_shows_the_reissued_code_after_a_revocation(
    client: Client, attendee: User, tier: TicketTier, organizer: User
) -> None:
    ticket = order_paid(buyer=attendee, tier=tier).tickets[0]
    old = SigningKey.objects.get(event=tier.event)
    signing_key_rotate(event=tier.event, actor=organizer)
    signing_key_revoke(key=old, actor=organizer)
    client.force_login(attendee)

    html = client.get("/tickets/").content.decode()

    (svg,) = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    (payload,) = decode_svg(svg)
    assert payload_verify(payload).ticket_id == ticket.pk
    assert payload != ticket.qr_payload


def test_device_link_of_an_event_long_over_is_404(
    client: Client, event: Event, organizer: User
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    _, token = device_link_create(
        checkin_list=checkin_list_default(event), actor=organizer, label="Sam"
    )
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(days=3), ends_at=timezone.now() - timedelta(days=2)
    )

    assert client.get(f"/door/link/{token}/").status_code == 404
    assert client.post(f"/door/link/{token}/scan", "{}", "application/json").status_code == 404
