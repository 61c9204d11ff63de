"""Test-only unsafe switches: one registry, refused by a system check outside tests."""

import pytest

from core import testswitches
from core.testswitches import SWITCHES, switch_on, unsafe_switches_check


def test_a_switch_is_off_unless_a_test_turns_it_on(settings) -> None:
    assert not any(switch_on(name) for name in SWITCHES)
    settings.BOXOFFICE_TEST_SWITCHES = {"inventory_unlocked": True}
    assert switch_on("inventory_unlocked")


def test_an_unknown_switch_name_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        switch_on("inventory_unlockd")


def test_the_system_check_refuses_a_switch_on_in_production(settings, monkeypatch) -> None:
    settings.DEBUG = False
    settings.BOXOFFICE_TEST_SWITCHES = {"seats_unlocked": True}
    monkeypatch.setattr(testswitches, "_running_tests", lambda: False)

    assert [e.id for e in unsafe_switches_check()] == ["core.E001"]

    settings.BOXOFFICE_TEST_SWITCHES = {"seats_unlocked": False}
    assert unsafe_switches_check() == []
    settings.DEBUG = True
    settings.BOXOFFICE_TEST_SWITCHES = {"seats_unlocked": True}
    assert unsafe_switches_check() == []  # a developer's machine may try one by hand


def test_the_system_check_names_an_unknown_switch(settings) -> None:
    settings.BOXOFFICE_TEST_SWITCHES = {"no_such_switch": True}
    assert "core.E002" in [e.id for e in unsafe_switches_check()]


def test_no_switch_is_read_outside_the_registry() -> None:
    """The seven old names (three schemes) are gone from the code."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    old = ("BOXOFFICE_TEST_UNSAFE", "CHECKIN_TEST_RACE", "NOTIFICATIONS_UNSAFE_NO_CLAIM")
    found = [
        str(path.relative_to(root))
        for top in (
            "accounts",
            "events",
            "ticketing",
            "waitlist",
            "checkin",
            "notifications",
            "analytics",
            "config",
            "core",
            "tests",
        )
        for path in (root / top).rglob("*.py")
        if any(name in path.read_text() for name in old) and path.name != "test_testswitches.py"
    ]
    assert found == []
