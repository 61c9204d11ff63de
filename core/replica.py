"""Dashboard, report and export reads go to the `replica` database when one is configured and
fresh enough; everything else, and every write, goes to the primary.

A replica that lags more than REPLICA_MAX_LAG_SECONDS (or cannot be asked) is skipped until it
catches up: a dashboard minutes behind would show sales that seem lost. The lag is asked at most
every REPLICA_LAG_CHECK_SECONDS per process, so the check costs nothing on a busy page.
"""

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
# Apps whose tables only dashboards read: their reads follow read_alias() automatically.
REPORTING_APPS = frozenset({"analytics"})

_lock = threading.Lock()
_checked: dict[str, float] = {"at": float("-inf"), "lag": 0.0}


def replica_configured() -> bool:
    return bool(getattr(settings, "DATABASE_REPLICA_URL", "")) and REPLICA in settings.DATABASES


def replica_lag_seconds() -> float:
    """Seconds the replica is behind (0 for a server that is not replaying, e.g. a primary)."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_is_in_recovery() THEN COALESCE("
            "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) ELSE 0 END"
        )
        return float(cursor.fetchone()[0])


def read_alias() -> str:
    """Where a dashboard, report or export should read from right now."""
    if not replica_configured():
        return PRIMARY
    now = time.monotonic()
    with _lock:
        fresh = now - _checked["at"] < settings.REPLICA_LAG_CHECK_SECONDS
        lag = _checked["lag"]
    if not fresh:
        try:
            lag = replica_lag_seconds()
        except DatabaseError:
            logger.warning("replica unreachable; reading from the primary")
            lag = float("inf")
        with _lock:
            _checked.update(at=now, lag=lag)
    return REPLICA if lag <= settings.REPLICA_MAX_LAG_SECONDS else PRIMARY


def forget_replica_lag() -> None:
    """Ask the replica again on the next read (tests, and after a failover)."""
    with _lock:
        _checked.update(at=float("-inf"), lag=0.0)


class ReportingReadRouter:
    """Reads of reporting tables go where read_alias() says; all writes to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if model._meta.app_label in REPORTING_APPS:
            return read_alias()
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # Same data on both: the replica is a copy of the primary.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY
