"""Gunicorn for a 2-core box: one process per core plus one, each with a few threads.

Threads (gthread) let a worker overlap database and Redis waits without the memory of extra
processes; persistent database connections (DB_CONN_MAX_AGE) are per thread.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
# gthread, with gunicorn's own refusals (request line or headers too long) in the JSON envelope.
worker_class = "config.gunicorn_worker.JsonErrorsThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycling guards against slow leaks; a worker restart costs ~1 s of CPU, which at 5,000 it
# paid every ~15 s of a rush. 20,000 still recycles a few times an hour under that load.
max_requests = 20000
max_requests_jitter = 2000
# gunicorn's own maximum. It agrees with the app's search limit (events.search.MAX_QUERY_CHARS,
# 200 characters): even fully percent-encoded (12 bytes a character) such a `q` and every filter
# fit, and so does a `q` many times too long, which the app then refuses with its own JSON error
# (QUERY_TOO_LONG) or form error. A request line longer than this never reaches the app: gunicorn
# itself answers 414 (as JSON: config/gunicorn_worker.py).
REQUEST_LINE_MAX = 8190
limit_request_line = REQUEST_LINE_MAX
accesslog = os.environ.get("GUNICORN_ACCESSLOG")  # unset: no per-request log line on the hot path
errorlog = "-"


def when_ready(server: object) -> None:
    """Rebuild the Redis admission gate from PostgreSQL before the first request."""
    import django

    django.setup()
    from django.db import connections

    from ticketing.booking.gate import gate_sync

    try:
        gate_sync()
    finally:
        connections.close_all()  # never hand the master's connection to forked workers
