"""Browsing at scale: search, listing and event-page latency over HTTP against gunicorn.

    DATABASE_URL=postgres://.../boxoffice_scale REDIS_URL=redis://127.0.0.1:6379/8 \
        .venv/bin/python bench/browse.py                       # 20 clients, 20 s per scenario
    .venv/bin/python bench/browse.py --no-cache                # every request renders
    .venv/bin/python bench/browse.py --url http://127.0.0.1:8000   # a server you started

The database must hold the scale dataset (`manage.py seed_scale`); the bench only reads it.
It starts `gunicorn -c config/gunicorn.conf.py` itself (DEBUG=0, its own cache prefix) unless
--url is given, then runs each scenario for --duration seconds with --concurrency clients
(aiohttp, keep-alive, in a separate process) after a warm-up, and prints one JSON object:
per scenario the request count, errors, p50/p95/p99 in ms and requests per second.

Scenarios (URLs drawn at random, with the dataset's skew):
- search:      /events/?q=...  words, phrases and typos, sometimes with a city or "this weekend"
- api_search:  /api/v1/search?query=...  the same queries as JSON
- listing:     /events/ with filters only (category, city, dates, price, sort by rating)
- event_page:  /events/<id>/<slug>/  popular events more often (Zipf over ticket sales)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.flash_sale import gunicorn, percentiles  # noqa: E402 - after the path fix above

QUERIES = [
    "jazz", "jazz festival", "jaz festivl", "techno", "tecno night", "rock", "comedy",
    "stand-up", "python conference", "pyhton", "symphony", "piano recital", "opera",
    "berlin", "london", "tokyo", "paris jazz", "summer festival", "midnight", "workshop",
    "pottery", "photografy", "marathon", "circus", "blues", "swing", "house music",
    "chamber music", "open air", "kesselhaus", "weber", "coltrane", "hopper", "grace",
    "\"golden jazz\"", "rock -punk", "family show", "security summit", "data days", "basketbal",
]  # fmt: skip
CITIES = ["Berlin", "Hamburg", "London", "Paris", "Tokyo", "New York", "Wien", "Madrid"]
CATEGORIES = ["jazz", "rock", "conference", "comedy", "classical", "festival", "family"]
WHENS = ["", "", "weekend", "week", "month", "today"]


def log(message: str) -> None:
    print(f"[browse] {message}", file=sys.stderr, flush=True)


def pick_events(database_url: str, count: int, seed: int) -> list[str]:
    """Event page paths, popular events more often (weight ~ tickets sold)."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT e.id::text, e.slug, coalesce(sum(t.sold_count), 0) AS sold
              FROM events_event e JOIN events_tickettier t ON t.event_id = e.id
             WHERE e.status = 'published' AND e.ends_at > now()
             GROUP BY e.id ORDER BY sold DESC
            """
        ).fetchall()
    if not rows:
        raise SystemExit("No published events: run `manage.py seed_scale` first.")
    rng = random.Random(seed)
    weights = [max(1, int(r[2])) for r in rows]
    chosen = rng.choices(rows, weights=weights, k=count)
    log(f"{len(rows)} active events; {len({c[0] for c in chosen})} distinct pages in the sample")
    return [f"/events/{r[0]}/{r[1]}/" for r in chosen]


def make_urls(scenario: str, count: int, seed: int, event_paths: list[str]) -> list[str]:
    rng = random.Random(f"{seed}-{scenario}")
    urls = []
    for _ in range(count):
        if scenario == "event_page":
            urls.append(rng.choice(event_paths))
            continue
        params: dict[str, str] = {}
        if scenario in ("search", "api_search"):
            params["query" if scenario == "api_search" else "q"] = rng.choice(QUERIES)
            if rng.random() < 0.2:
                params["city"] = rng.choice(CITIES)
            if rng.random() < 0.2:
                params["when"] = rng.choice(WHENS[2:])
        else:
            if rng.random() < 0.5:
                params["category"] = rng.choice(CATEGORIES)
            if rng.random() < 0.4:
                params["city"] = rng.choice(CITIES)
            when = rng.choice(WHENS)
            if when:
                params["when"] = when
            if rng.random() < 0.2:
                params["price_max"] = str(rng.choice([10, 20, 50]))
            if rng.random() < 0.2:
                params["sort"] = "rating"
            if rng.random() < 0.3:
                params["page"] = str(rng.randint(2, 5))
        path = "/api/v1/search" if scenario == "api_search" else "/events/"
        urls.append(f"{path}?{urlencode(params)}")
    return urls


async def _run(
    base: str,
    urls: list[str],
    concurrency: int,
    duration: float,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30,
) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    queue = iter(urls)
    deadline = time.monotonic() + duration
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:

        async def client() -> None:
            while time.monotonic() < deadline:
                try:
                    path = next(queue)
                except StopIteration:
                    return
                started = time.perf_counter()
                try:
                    async with session.get(base + path, allow_redirects=False) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        began = time.monotonic()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        took = time.monotonic() - began
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / took, 1) if took else None,
        **{f"{k}_ms": v for k, v in percentiles(latencies).items()},
    }


def run_scenario(
    base: str,
    urls: list[str],
    concurrency: int,
    duration: float,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30,
) -> dict[str, Any]:
    """GET `urls` from `concurrency` clients for `duration` seconds (with `headers`, e.g. a
    session cookie); latency percentiles of the 200s, the rest counted as errors."""
    return asyncio.run(_run(base, urls, concurrency, duration, headers, timeout_s))


def in_process(func: Any, *args: Any) -> Any:
    """The load runs in its own process so its CPU is not the server's Python."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(func, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server instead of starting gunicorn")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=300, help="requests before each scenario")
    parser.add_argument(
        "--no-cache", action="store_true", help="turn the page, availability and listing caches off"
    )
    parser.add_argument(
        "--cold-pages",
        dest="warm_pages",
        action="store_false",
        help="do not visit each event page once before measuring (first visits render)",
    )
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: gunicorn.conf)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--scenarios", default="search,api_search,listing,event_page", help="comma-separated"
    )
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url or not os.environ.get("REDIS_URL"):
        raise SystemExit("Set DATABASE_URL (the seeded scale database) and REDIS_URL.")
    scenarios = [s for s in args.scenarios.split(",") if s]
    per_scenario = int(args.duration * 2000) + args.warmup
    event_paths = pick_events(database_url, per_scenario, args.seed)
    environ = dict(os.environ)
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    environ.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        CACHE_KEY_PREFIX=f"browse{secrets.token_hex(4)}",
        PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "boxoffice_bench_pyc"),
    )
    if args.no_cache:
        for name in (
            "EVENTS_PAGE_CACHE_SECONDS",
            "EVENTS_AVAILABILITY_SECONDS",
            "EVENTS_LISTING_CACHE_SECONDS",
        ):
            environ[name] = "0"
    if args.workers:
        environ["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        environ["GUNICORN_THREADS"] = str(args.threads)
    results: dict[str, Any] = {
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "cache": {
            name: environ.get(name, "default")
            for name in (
                "EVENTS_PAGE_CACHE_SECONDS",
                "EVENTS_AVAILABILITY_SECONDS",
                "EVENTS_LISTING_CACHE_SECONDS",
            )
        },
        "cpus": os.cpu_count(),
        "event_pages_warmed": args.warm_pages,
    }

    def measure(base: str) -> None:
        for scenario in scenarios:
            urls = make_urls(scenario, per_scenario, args.seed, event_paths)
            warm = urls[: args.warmup]
            if scenario == "event_page" and args.warm_pages:
                # Steady state: every page in the sample has been seen once (a cache that has
                # run for a while). --cold-pages measures first visits too.
                warm = sorted(set(urls[args.warmup :]))
                log(f"event_page: warming {len(warm)} distinct pages")
            in_process(run_scenario, base, warm, args.concurrency, 600.0)
            log(f"{scenario}: measuring for {args.duration} s")
            results[scenario] = in_process(
                run_scenario, base, urls[args.warmup :], args.concurrency, args.duration
            )
            log(f"{scenario}: {results[scenario]}")

    if args.url:
        measure(args.url.rstrip("/"))
    else:
        # Production settings serve hashed static files from a manifest: build it first.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            env=environ,
            cwd=BASE_DIR,
            check=True,
        )
        log_path = Path(tempfile.gettempdir()) / f"browse_gunicorn_{os.getpid()}.log"
        with gunicorn(environ, log_path) as (base, _pid):
            measure(base)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
