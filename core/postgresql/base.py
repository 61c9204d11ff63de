"""Django's PostgreSQL backend with a health check that costs no round trip when it need not.

With CONN_HEALTH_CHECKS Django asks a reused connection `SELECT 1` before the first query of
every request: two round trips of a purchase's ~15 statements, and one on every page. A
connection PostgreSQL has closed (a restart, `pg_terminate_backend`, an idle timeout, a proxy
cutting it) has something to read on its socket: the server's farewell or the end of the
stream. So an idle connection whose socket has nothing to read is taken as it is; anything else
(data waiting, a transaction open, psycopg already calling it broken) gets Django's own check.
A connection cut without a word (a cable pulled) passes here as it passes `SELECT 1`'s first
packet: the first query finds out, as it would have, and ops.availability answers 503.
"""

import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


def quiet(connection: Any) -> bool:
    """Whether a psycopg connection is idle, outside a transaction, with nothing to read."""
    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        # django-stubs does not declare the health-check attributes Django's own method reads.
        checked = self.health_check_done  # type: ignore[has-type]
        if self.connection is None or not self.health_check_enabled or checked:  # type: ignore[attr-defined]
            return
        if not quiet(self.connection) and not self.is_usable():
            self.close()
        self.health_check_done = True
