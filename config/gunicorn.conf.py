"""Gunicorn for a 2-core box: one process per core plus one, each with a few threads.

    gunicorn -c config/gunicorn.conf.py            # the app and the settings module are set here

Threads (gthread) let a worker overlap database and Redis waits without the memory of extra
processes; persistent database connections (DB_CONN_MAX_AGE) are per thread.
"""

import gc
import multiprocessing
import os
import tempfile

# The master sets up Django in when_ready, before any worker imports config.wsgi (which sets
# this too): without it here, gunicorn died after "Listening" unless the shell exported it.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Workers' metrics are summed across processes from files here (see ops/metrics.py); set
# before any worker imports prometheus_client. Share it with Celery workers on the same host
# to scrape theirs through /metrics too.
_OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="boxoffice-metrics-"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
# gthread, with gunicorn's own refusals (request line or headers too long) in the JSON envelope.
worker_class = "config.gunicorn_worker.JsonErrorsThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycling guards against slow leaks. The master imports the project once (preload_app) and
# forks workers from it: a recycled worker used to import it again, ~1 s of CPU while its share
# of the traffic queued, and in a 50,000-visitor waiting-room run each recycle showed as a 30 s
# stretch with p95 at 200-500 ms instead of ~10 ms. The cost: a HUP no longer loads new code, a
# deploy restarts the master. Nothing in the master keeps a connection a worker would share:
# when_ready closes the database connection, and redis-py opens a new pool in each process.
preload_app = True
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
    """Rebuild the Redis admission gate from PostgreSQL before the first request, then move
    what the preloaded master holds out of the collector's reach."""
    import django

    django.setup()
    from django.db import DatabaseError, connections

    from ticketing.booking.gate import gate_sync

    try:
        gate_sync()
    except DatabaseError as exc:
        # PostgreSQL not up yet: serve anyway (503s until it is); beat re-syncs the gate.
        server.log.warning("admission gate not synced: %s", exc)  # type: ignore[attr-defined]
    finally:
        connections.close_all()  # never hand the master's connection to forked workers
    # The imported project lives as long as each worker. Frozen before the fork, a worker's full
    # collection scans ~35,000 objects instead of ~260,000 (measured: a 150 ms pause, holding
    # every thread of the worker, about once per 2,000 dashboard requests), and the collector no
    # longer writes to the pages the workers share with the master.
    gc.collect()
    gc.freeze()


def child_exit(server: object, worker: object) -> None:
    """A dead worker's gauges leave the sum (counters and histograms stay), and its slot in the
    connection counts is free for the next worker."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
    release_slot = getattr(worker, "release_slot", None)
    if release_slot is not None:
        release_slot()


def on_exit(server: object) -> None:
    """Remove the metrics folder this configuration made (one someone else set is theirs)."""
    if _OWN_METRICS_DIR:
        import shutil

        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
