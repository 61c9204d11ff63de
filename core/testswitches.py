"""Test-only unsafe switches: one settings namespace, one list of names, one system check.

A concurrency test proves it can catch a race by switching the guard off and watching the
test fail (its negative control). Each such switch is named here, once, and set only as
`settings.BOXOFFICE_TEST_SWITCHES = {name: value}` from a test. `unsafe_switches_check`
(a Django system check) refuses any switch that is on when DEBUG is off outside tests, so a
production deploy cannot start with a lock switched off.
"""

import sys
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

SETTING = "BOXOFFICE_TEST_SWITCHES"

# name -> what it breaks, for whom
SWITCHES: dict[str, str] = {
    "inventory_unlocked": "ticketing.booking: take tier inventory by read, pause, write",
    "seats_unlocked": "ticketing.seating: hold seats without their row locks",
    "seat_layout_unlocked": "ticketing.seating: add seats to a map without the map's lock",
    "promotion_unlocked": "waitlist/ticketing: take set-aside seats by read, pause, write",
    "session_seats_unlocked": "events.agenda: take a session seat by read, pause, write",
    "checkin_race": "checkin: 'guarded' or 'unguarded', make two admissions overlap",
    "notifications_unclaimed": "notifications: send a delivery without claiming it first",
    "audit_chain_unlocked": "accounts.audit: append audit rows without the chain's lock",
    "voucher_unlocked": "vouchers: count a code's use by read, pause, write",
    "invoice_counter_unlocked": "invoicing: take an invoice number by read, pause, write",
}


def switch_value(name: str) -> Any:
    """The switch's value (None when off); an unknown name is a programming error."""
    if name not in SWITCHES:
        raise KeyError(f"unknown test switch {name!r}; add it to core.testswitches.SWITCHES")
    return (getattr(settings, SETTING, None) or {}).get(name)


def switch_on(name: str) -> bool:
    return bool(switch_value(name))


def _running_tests() -> bool:
    return "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")


@register()
def unsafe_switches_check(
    app_configs: Iterable[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    switches = getattr(settings, SETTING, None) or {}
    errors: list[CheckMessage] = [
        Error(f"Unknown test switch {name!r} in {SETTING}.", id="core.E002")
        for name in switches
        if name not in SWITCHES
    ]
    on = sorted(name for name, value in switches.items() if value)
    if on and not settings.DEBUG and not _running_tests():
        errors.append(
            Error(
                f"Test-only unsafe switches are on outside tests: {', '.join(on)}.",
                hint=f"Remove them from {SETTING}; they switch off locks and checks.",
                id="core.E001",
            )
        )
    return errors
