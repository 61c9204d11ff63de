from collections.abc import Iterator

import pytest
from django.db import OperationalError

from analytics.models import EventHourStats
from core import replica
from events.models import Event


@pytest.fixture(autouse=True)
def _fresh_lag() -> Iterator[None]:
    replica.forget_replica_lag()
    yield
    replica.forget_replica_lag()


def test_without_a_replica_dashboards_read_the_primary(settings) -> None:
    settings.DATABASE_REPLICA_URL = ""
    assert EventHourStats.objects.all().db == "default"
    assert Event.objects.all().db == "default"


@pytest.mark.django_db(databases=["default", "replica"])
def test_a_fresh_replica_serves_dashboard_reads_but_never_writes(settings) -> None:
    settings.DATABASE_REPLICA_URL = "postgres://replica.invalid/boxoffice"
    assert replica.replica_lag_seconds() == 0  # the test mirror is a primary: not replaying
    assert EventHourStats.objects.all().db == "replica"
    assert list(EventHourStats.objects.all()) == []
    assert Event.objects.all().db == "default"  # the booking path never goes there
    assert replica.ReportingReadRouter().db_for_write(EventHourStats) == "default"


def test_a_lagging_replica_is_skipped_until_it_catches_up(settings, monkeypatch) -> None:
    settings.DATABASE_REPLICA_URL = "postgres://replica.invalid/boxoffice"
    settings.REPLICA_MAX_LAG_SECONDS = 30
    settings.REPLICA_LAG_CHECK_SECONDS = 0
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 95.0)
    assert replica.read_alias() == "default"
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 2.0)
    assert replica.read_alias() == "replica"


def test_an_unreachable_replica_falls_back_to_the_primary(settings, monkeypatch) -> None:
    settings.DATABASE_REPLICA_URL = "postgres://replica.invalid/boxoffice"

    def down() -> float:
        raise OperationalError("connection refused")

    monkeypatch.setattr(replica, "replica_lag_seconds", down)
    assert replica.read_alias() == "default"


def test_lag_is_asked_at_most_once_per_check_interval(settings, monkeypatch) -> None:
    settings.DATABASE_REPLICA_URL = "postgres://replica.invalid/boxoffice"
    settings.REPLICA_LAG_CHECK_SECONDS = 60
    calls: list[int] = []

    def lag() -> float:
        calls.append(1)
        return 0.0

    monkeypatch.setattr(replica, "replica_lag_seconds", lag)
    for _ in range(5):
        replica.read_alias()
    assert len(calls) == 1
