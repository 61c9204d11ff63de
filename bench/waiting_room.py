"""Waiting room: V visitors at a sale's opening bell, through the real pages, against gunicorn.

    .venv/bin/python bench/waiting_room.py                          # 50,000 visitors, ~11 min
    .venv/bin/python bench/waiting_room.py --visitors 3000 --early 600 --time-scale 10

`--early` visitors arrive (spread over the minute) before the opening, the rest evenly over
`--window-s` after it. Each one opens the waiting page (`GET /queue/<event>/`, which puts them in
the queue and sets its cookies), then polls the JSON status as the page's script does, as often
as the server says (`poll_after_s`), until it is their turn. `wait_page_ms` covers every answer
the waiting page gets (the page itself and its polls; `join_ms` and `poll_ms` split them).
`--time-scale S` compresses the arrivals S times and lets people through S times faster (the
pace the JSON reports against is the scaled one); the polls keep their real-time spacing.

The pace is measured from the visitors' side: how many a minute were told "your turn" while
people were still waiting. The default pace (80 a second) is below the early crowd's size over
the window plus the later arrivals, so the queue never runs dry and the pace is what lets
people through from the first second to the last. Meanwhile, spread over the whole run, a group
of cheaters (accounts with API tokens) tries `register` without a pass, with a forged pass and
with somebody else's genuine one; as the control, as many honest buyers register with a pass of
their own, and must get through.

Same servers as bench/flash_sale.py (its own durable PostgreSQL and Redis, production gunicorn).
Prints one JSON object; bench/README.md explains the fields.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.fairness import shuffle_p_value  # noqa: E402 - after the sys.path fix above
from bench.flash_sale import (  # noqa: E402
    create_sale,
    fresh_database,
    gunicorn,
    percentiles,
    reset_database,
    run_and_report,
)
from bench.servers import free_port_in, logger, tree_cpu_s  # noqa: E402
from waitingroom.poll import OPENING_SPREAD_S  # noqa: E402 - a constant; Django is not set up

COOKIE = re.compile(r"^\s*([^=;\s]+)=([^;]*)")


log = logger("waiting_room")


# --- The load process (no Django) -------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    url: str
    event_id: str
    tier_id: str
    opens_at: float  # epoch seconds
    early: int
    visitors: int
    window_s: float  # after the opening, already scaled
    deadline: float  # epoch seconds: stop polling
    cheater_tokens: list[str]
    forged_pass: str
    someone_elses_pass: str
    honest: list[tuple[str, str]]  # (API token, the buyer's own pass)
    concurrency: int


@dataclass
class Seen:
    poll_ms: list[float] = field(default_factory=list)
    join_ms: list[float] = field(default_factory=list)
    position_increases: int = 0
    admitted: int = 0
    admitted_at: list[float] = field(default_factory=list)  # when each was told "your turn"
    not_admitted: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    cheaters_let_in: int = 0
    cheaters_refused: Counter[str] = field(default_factory=Counter)
    honest_booked: int = 0
    honest_refused: Counter[str] = field(default_factory=Counter)
    answered_at: list[tuple[float, float]] = field(default_factory=list)  # (epoch s, ms)
    pool_wait_ms: list[float] = field(default_factory=list)  # queued for one of our connections
    loop_lag_ms: list[float] = field(default_factory=list)  # how late our own timers fired
    early_cookies: dict[int, str] = field(default_factory=dict)  # arrival index -> cookie
    # (join sent, join answered, cookie) of those who came after the opening
    late_cookies: list[tuple[float, float, str]] = field(default_factory=list)


async def _visitor(session: Any, plan: Plan, seen: Seen, number: int, at: float) -> None:
    import aiohttp

    await asyncio.sleep(max(0.0, at - time.time()))
    cookies: dict[str, str] = {}
    started, sent = time.perf_counter(), time.time()
    try:
        async with session.get(f"{plan.url}/queue/{plan.event_id}/") as response:
            await response.read()
            status = response.status
            for header in response.headers.getall("Set-Cookie", []):
                match = COOKIE.match(header)
                if match:
                    cookies[match.group(1)] = match.group(2)
    except (TimeoutError, aiohttp.ClientError) as exc:
        seen.errors[f"join_{type(exc).__name__}"] += 1
        return
    seen.join_ms.append((time.perf_counter() - started) * 1000)
    seen.answered_at.append((time.time(), seen.join_ms[-1]))
    if status != 200:
        seen.errors[f"join_{status}"] += 1
        return
    visitor_cookie = cookies.get(f"bo_queue_{plan.event_id}", "")
    if number < plan.early:
        seen.early_cookies[number] = visitor_cookie
    else:
        seen.late_cookies.append((sent, time.time(), visitor_cookie))
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    last_position: int | None = None
    while time.time() < plan.deadline:
        started = time.perf_counter()
        try:
            async with session.get(
                f"{plan.url}/queue/{plan.event_id}/status", headers=header
            ) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            seen.errors[f"poll_{type(exc).__name__}"] += 1
            await asyncio.sleep(2)
            continue
        seen.poll_ms.append((time.perf_counter() - started) * 1000)
        seen.answered_at.append((time.time(), seen.poll_ms[-1]))
        seen.polls += 1
        if status != 200:
            seen.errors[f"poll_{status}"] += 1
            await asyncio.sleep(2)
            continue
        answer = json.loads(body)
        if answer["state"] == "your_turn":
            seen.admitted += 1
            seen.admitted_at.append(time.time())
            return
        position = answer.get("position")
        if position is not None:
            if last_position is not None and position > last_position:
                seen.position_increases += 1
            last_position = position
        await asyncio.sleep(max(1.0, float(answer.get("poll_after_s") or 5)))
    seen.not_admitted += 1


async def _register(session: Any, plan: Plan, seen: Seen, token: str, kind: str, at: float) -> None:
    """One `register` attempt: a cheater's (`none`, `forged`, `stolen`) or an honest buyer's."""
    import aiohttp

    await asyncio.sleep(max(0.0, at - time.time()))
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "forged":
        headers["X-Queue-Token"] = plan.forged_pass
    elif kind == "stolen":
        headers["X-Queue-Token"] = plan.someone_elses_pass
    elif kind != "none":
        headers["X-Queue-Token"] = kind  # the buyer's own pass
    body = {"tier_id": plan.tier_id, "quantity": 1, "idempotency_key": secrets.token_hex(8)}
    try:
        async with session.post(
            f"{plan.url}/api/v1/events/{plan.event_id}/register", json=body, headers=headers
        ) as response:
            answer = await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        seen.errors[f"register_{type(exc).__name__}"] += 1
        return
    code = str(status)
    if status >= 400:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            code = f"{status} {json.loads(answer)['error']['code']}"
    if kind in ("none", "forged", "stolen"):
        if code == "403 QUEUE_REQUIRED":
            seen.cheaters_refused[kind] += 1
        else:
            seen.cheaters_let_in += 1
            seen.errors[f"cheater_{kind}_{code}"] += 1
    elif status == 201:
        seen.honest_booked += 1
    else:
        seen.honest_refused[code] += 1


async def _load(plan: Plan) -> dict[str, Any]:
    import aiohttp

    seen = Seen()
    rng = random.Random(7)
    # Before the opening: spread over the minute before it; after: evenly over the window.
    times = sorted(plan.opens_at - 60 * rng.random() for _ in range(plan.early))
    later = plan.visitors - plan.early
    times += [plan.opens_at + plan.window_s * (i + 0.5) / later for i in range(later)]
    connector = aiohttp.TCPConnector(limit=plan.concurrency, keepalive_timeout=4)
    # Where a slow answer's time went on our side: waiting for one of the load generator's
    # connections, or a busy event loop firing timers late, rather than the server.
    tracing = aiohttp.TraceConfig()

    async def queued(_session: Any, context: Any, _params: Any) -> None:
        context.queued_at = time.perf_counter()

    async def dequeued(_session: Any, context: Any, _params: Any) -> None:
        seen.pool_wait_ms.append((time.perf_counter() - context.queued_at) * 1000)

    tracing.on_connection_queued_start.append(queued)
    tracing.on_connection_queued_end.append(dequeued)
    done = asyncio.Event()

    async def watch_loop() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.1)
            seen.loop_lag_ms.append(max(0.0, (time.perf_counter() - started - 0.1) * 1000))

    watcher = asyncio.create_task(watch_loop())
    cpu = time.process_time()
    # Cheaters and honest buyers come throughout: from before the opening to the last arrivals.
    first, last = plan.opens_at - 30, plan.opens_at + plan.window_s
    kinds = ("none", "forged", "stolen")
    attempts = [
        (token, kinds[n % 3], first + (last - first) * rng.random())
        for n, token in enumerate(plan.cheater_tokens)
    ] + [(token, own, first + (last - first) * rng.random()) for token, own in plan.honest]
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60), trace_configs=[tracing]
    ) as session:
        await asyncio.gather(
            *(_visitor(session, plan, seen, n, at) for n, at in enumerate(times)),
            *(_register(session, plan, seen, token, kind, at) for token, kind, at in attempts),
        )
    done.set()
    await watcher
    return {
        "joins": len(seen.join_ms),
        "wait_page_ms": percentiles(seen.join_ms + seen.poll_ms),
        "join_ms": percentiles(seen.join_ms),
        "poll_ms": percentiles(seen.poll_ms),
        "polls": seen.polls,
        "position_increases": seen.position_increases,
        "admitted_seen": seen.admitted,
        "not_admitted_by_deadline": seen.not_admitted,
        "errors": dict(seen.errors),
        "cheaters": len(plan.cheater_tokens),
        "cheaters_refused": dict(seen.cheaters_refused),
        "admitted_without_token": seen.cheaters_let_in,
        "honest_buyers": len(plan.honest),
        "honest_booked": seen.honest_booked,
        "honest_refused": dict(seen.honest_refused),
        "loadgen_cpu_s": round(time.process_time() - cpu, 2),
        "loadgen_pool_wait_ms": percentiles(seen.pool_wait_ms),
        "loadgen_pool_waits": len(seen.pool_wait_ms),
        "loadgen_loop_lag_ms": {
            **percentiles(seen.loop_lag_ms),
            "max": max(seen.loop_lag_ms, default=0.0),
        },
        "wait_page_ms_by_30s": _timeline(seen.answered_at, plan.opens_at),
        "admitted_at": seen.admitted_at,
        "early_cookies": [seen.early_cookies[i] for i in sorted(seen.early_cookies)],
        "late_cookies": seen.late_cookies,
    }


def _timeline(answered_at: list[tuple[float, float]], opens_at: float) -> list[dict[str, Any]]:
    """The waiting page's answers per 30 s from the opening (negative: before it): how many, and
    their p95, to tell a burst or a slow stretch from a steady tail."""
    buckets: dict[int, list[float]] = {}
    for at, ms in answered_at:
        buckets.setdefault(math.floor((at - opens_at) / 30) * 30, []).append(ms)
    return [
        {"from_s": start, "answers": len(values), "p95": percentiles(values)["p95"]}
        for start, values in sorted(buckets.items())
    ]


def run_load(plan: Plan) -> dict[str, Any]:
    return asyncio.run(_load(plan))


# --- One run ------------------------------------------------------------------------------------


def _sale(args: argparse.Namespace) -> tuple[Any, str, list[str], list[tuple[str, int]]]:
    """The flash sale's event (a tier big enough for everyone), the cheaters' API tokens, and
    the honest buyers' (token, account id)."""
    from accounts.models import ApiToken
    from events.models import Event

    event_id, tier_id, tokens = create_sale(
        capacity=50000,
        buyers=args.cheaters + args.honest,
        run_id=secrets.token_hex(3),
        seated=False,
    )
    honest = [
        (token, ApiToken.objects.get(digest=ApiToken.digest_of(token)).user_id)
        for token in tokens[args.cheaters :]
    ]
    return Event.objects.get(pk=event_id), tier_id, tokens[: args.cheaters], honest


def one_run(
    args: argparse.Namespace, environ: dict[str, str], executor: ProcessPoolExecutor, n: int
) -> dict[str, Any]:
    from datetime import UTC, datetime

    from django.http import HttpRequest

    from waitingroom import passes, queue, services
    from waitingroom.models import WaitingRoom

    load_before = os.getloadavg()
    log(f"run {n}: fresh database {args.db_name}, migrate")
    fresh_database(environ, args.db_name)
    event, tier_id, tokens, honest = _sale(args)
    scale = args.time_scale
    rate_per_minute = args.admit_per_minute * scale
    log_path = Path(tempfile.gettempdir()) / f"waiting_room_gunicorn_{os.getpid()}.log"
    run_environ = dict(environ, WAITINGROOM_JOINS_PER_ADDRESS_PER_MINUTE="10000000")
    # Production settings serve hashed static files from a manifest: build it first.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=run_environ,
        cwd=BASE_DIR,
        check=True,
    )
    with gunicorn(run_environ, log_path, free_port_in(8171, 8179)) as (url, master):
        opens_at = time.time() + 70  # the early crowd arrives over the minute before
        room = services.room_save(
            event=event,
            mode=WaitingRoom.Mode.ON,
            pace=WaitingRoom.Pace.FIXED,
            opens_at=datetime.fromtimestamp(opens_at, tz=UTC),
            admit_per_minute=rate_per_minute,
        )
        services.room_publish(room)
        window = args.window_s / scale
        expected_end = opens_at + max(window, args.visitors / (rate_per_minute / 60)) + 30
        plan = Plan(
            url=url,
            event_id=str(event.pk),
            tier_id=tier_id,
            opens_at=opens_at,
            early=args.early,
            visitors=args.visitors,
            window_s=window,
            deadline=expected_end,
            cheater_tokens=tokens,
            forged_pass=passes.pass_issue(event.pk, "u:0")[:-6] + "AAAAAA",
            someone_elses_pass=passes.pass_issue(event.pk, passes.visitor_of(HttpRequest())),
            honest=[(token, passes.pass_issue(event.pk, f"u:{pk}")) for token, pk in honest],
            concurrency=args.concurrency,
        )
        web_cpu = tree_cpu_s(master)
        log(f"run {n}: {args.visitors} visitors ({args.early} early), opening in 70 s, {url}")
        future = executor.submit(run_load, plan)
        samples: list[tuple[float, int, int]] = []  # (time, admitted, waiting)
        while not future.done():
            standing = queue.standing(event_id=event.pk)
            samples.append((time.time(), standing.admitted, standing.waiting))
            time.sleep(1)
        load = future.result()
        web_cpu = tree_cpu_s(master) - web_cpu
    set_rate = rate_per_minute / 60
    measured, counter_rate = _pace(load.pop("admitted_at"), samples, opens_at, set_rate)
    p_value, out_of_order = _order_check(queue, passes, event.pk, load)
    result = {
        "visitors": args.visitors,
        "early": args.early,
        "window_s": args.window_s,
        "time_scale": scale,
        "admit_per_minute_set": rate_per_minute,
        "admit_per_minute_measured": round(measured * 60, 1),
        "admit_per_minute_counter": round(counter_rate * 60, 1),
        "admit_rate_error_pct": round(100 * (measured - set_rate) / set_rate, 2)
        if measured
        else None,
        **load,
        "fairness_p_value": p_value,
        "late_arrivals_out_of_order": out_of_order,
        "web_cpu_ms_per_poll": round(1000 * web_cpu / max(1, load["polls"] + load["joins"]), 3),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }
    result["db_ok"] = not (
        result["admitted_without_token"]
        or result["position_increases"]
        or load["errors"]
        or load["honest_refused"]
    )
    queue.clear(event_id=event.pk)
    if not args.keep_db:
        from django.db import connections

        connections.close_all()
        reset_database(environ["DATABASE_URL"], args.db_name, create=False)
    return result


def _order_check(
    queue: Any, passes: Any, event_id: Any, load: dict[str, Any]
) -> tuple[float | None, int]:
    """Fairness p-value of the early crowd's places, and later arrivals served out of order.

    The load process kept each visitor's cookie in arrival order; the cookie names the visitor,
    the sorted set their place.
    """
    client = queue._client()
    key = queue._key(event_id, "q")

    def rank(cookie: str) -> int | None:
        visitor = passes.visitor_from_token(event_id, cookie)
        found = client.zrank(key, visitor) if visitor else None
        return None if found is None else int(found)

    early = [(i, rank(c)) for i, c in enumerate(load.pop("early_cookies"))]
    early_pairs = [(i, r) for i, r in early if r is not None]
    p_value = (
        round(shuffle_p_value([i for i, _ in early_pairs], [r for _, r in early_pairs]), 4)
        if len(early_pairs) > 2
        else None
    )
    # First come, first served: whoever's join was answered before another's was sent must
    # stand ahead of them (joins in flight together may land either way).
    late = [(sent, answered, rank(c)) for sent, answered, c in load.pop("late_cookies")]
    joined = [(sent, answered, r) for sent, answered, r in late if r is not None]
    by_answer = sorted((answered, r) for _, answered, r in joined)
    out_of_order, ahead_max, cursor = 0, -1, 0
    for sent, _, place in sorted(joined):
        while cursor < len(by_answer) and by_answer[cursor][0] < sent:
            ahead_max = max(ahead_max, by_answer[cursor][1])
            cursor += 1
        out_of_order += place < ahead_max
    return p_value, out_of_order


def _pace(
    admitted_at: list[float],
    samples: list[tuple[float, int, int]],
    opens_at: float,
    set_rate: float,
) -> tuple[float, float]:
    """Admissions a second as the visitors saw them, and as the room's counter says, over the
    stretch while the queue held more than 10 s of people, from when the early crowd's first
    polls after the opening (spread over OPENING_SPREAD_S) are done.

    A visitor learns of their turn at their next poll (3 s apart near the front), so the
    visitors' figure is taken over the same stretch shifted by that lag; over minutes the lag
    cancels out.
    """
    settled = opens_at + OPENING_SPREAD_S + 10
    busy = [t for t, _, waiting in samples if t > settled and waiting > 10 * set_rate]
    if len(busy) < 3:
        return 0.0, 0.0
    start, end = busy[0], busy[-1]
    counter = {t: a for t, a, _ in samples}
    counter_rate = (counter[end] - counter[start]) / (end - start)
    lag = 3.0
    seen = sum(start + lag <= t < end + lag for t in admitted_at)
    return seen / (end - start), counter_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--visitors", type=int, default=50000)
    parser.add_argument("--early", type=int, default=10000, help="arrive before the opening")
    parser.add_argument("--window-s", type=float, default=600, help="the rest arrive over this")
    parser.add_argument("--admit-per-minute", type=int, default=4800, help="the room's pace")
    parser.add_argument("--time-scale", type=float, default=1.0, help="compress time S times")
    parser.add_argument("--cheaters", type=int, default=210, help="register without a pass")
    parser.add_argument("--honest", type=int, default=30, help="register with their own")
    parser.add_argument("--concurrency", type=int, default=200, help="open connections")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--db-name", default="boxoffice_bench_queue")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--devstack", action="store_true")
    parser.add_argument("--pg-port", type=int)
    parser.add_argument("--redis-port", type=int)
    args = parser.parse_args(argv)
    args.url, args.sandbox_latency_ms, args.workers, args.threads = None, 0, None, None
    args.redis_db = 13
    return run_and_report(args, one_run)


if __name__ == "__main__":
    sys.exit(main())
