"""The booking invariants hold whatever the order of registering, paying, refunding,
transferring, waiting, scanning and cancelling (tests/properties/booking_machine.py).

`make test` runs a bounded, derandomized set of examples; a long run:
    PROPERTY_EXAMPLES=2000 pytest tests/properties -m long_property
"""

import os
import time

import pytest

from tests.properties.booking_machine import BookingMachine, run_machine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.timeout(600)
def test_booking_invariants_hold_in_any_order() -> None:
    run_machine(BookingMachine)


@pytest.mark.long_property
@pytest.mark.skipif(
    int(os.environ.get("PROPERTY_EXAMPLES", "0")) < 1000,
    reason="the long run: set PROPERTY_EXAMPLES=2000",
)
@pytest.mark.timeout(6 * 3600)
def test_booking_invariants_hold_over_a_long_run() -> None:
    """PROPERTY_EXAMPLES examples in batches of 100 with fresh random seeds, each batch's
    progress printed (run with -s), so a long run reports how far it got."""
    total, batch = int(os.environ["PROPERTY_EXAMPLES"]), 100
    started = time.monotonic()
    for done in range(0, total, batch):
        run_machine(BookingMachine, examples=min(batch, total - done), derandomize=False)
        print(f"{done + batch} examples passed, {time.monotonic() - started:.0f} s", flush=True)
