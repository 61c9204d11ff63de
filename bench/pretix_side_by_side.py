"""Boxoffice and pretix 2026.8.0 in one sitting: the same flash sale, interleaved; medians, ratios.

    flock /work/notes/bench.lock .venv/bin/python bench/pretix_side_by_side.py \\
        --harness /work/shared/anchors/pretix --rounds 3 --out bench/results/side_by_side.json

pretix is the anchor harness's (`../shared/anchors/pretix/`): installed by its `01_install.sh`,
configured by `02_services.sh`, `python -m pretix migrate` and `rebuild` done beforehand. This
script only calls the harness's own steps (`04_serve.sh`, `03_create_data.py`, `loadgen.py
orders`, `05_verify.py`) and, between them, `bench/flash_sale.py` with the same capacity, buyers
and concurrency, so both see the same machine and the same load. Each round runs every
concurrency once for each side; the side that goes first (`--first`) alternates each round. The
results file is rewritten after every run, so a sitting cut short still leaves what it measured.
It prints one JSON object on stdout: every run, the medians per side and concurrency, the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # `python bench/pretix_side_by_side.py` from any directory
    sys.path.insert(0, str(BASE_DIR))

from bench.servers import logger, tree_cpu_s  # noqa: E402 - after the sys.path fix above

log = logger("side_by_side")
HARNESS_ENV = ("ANCHOR_DIR", "VENV", "PRETIX_CONFIG_FILE", "PRETIX_PORT", "PRETIX_WORKERS")


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def harness_environment(harness: Path) -> dict[str, str]:
    """The harness's paths and port, as its `env.sh` sets them (its defaults stay its own)."""
    script = f'source "{harness}/env.sh" && env -0'
    dump = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    pairs = (item.split("=", 1) for item in dump.decode().split("\0") if "=" in item)
    return dict(pairs)


class Pretix:
    """pretix under the harness's gunicorn: started once for the sitting, stopped at the end."""

    def __init__(self, harness: Path, quota: int, orders: int, results: Path) -> None:
        self.harness = harness
        self.quota = quota
        self.orders = orders
        self.results = results
        self.environ = harness_environment(harness)
        self.anchor = Path(self.environ["ANCHOR_DIR"])
        self.python = str(Path(self.environ["VENV"]) / "bin" / "python")
        self.stamp = datetime.now(UTC).strftime("%H%M%S")

    def step(self, *argv: str) -> str:
        done = subprocess.run(
            argv, cwd=self.anchor, env=self.environ, capture_output=True, text=True, check=True
        )
        return done.stdout

    def harness_python(self, script: str, *argv: str) -> str:
        return self.step(self.python, str(self.harness / script), *argv)

    def start(self) -> None:
        self.step("bash", str(self.harness / "04_serve.sh"), "stop")
        log(self.step("bash", str(self.harness / "04_serve.sh"), "start").strip())
        # As 06_run_all.sh: every worker imports everything before the clock starts.
        warm = f"warm{self.stamp}"
        self.harness_python("03_create_data.py", warm, "100000")
        event_json = f"event_{warm}.json"
        self.harness_python(
            "loadgen.py", "orders", "--event-json", event_json, "-n", "40", "-c", "4"
        )
        shop = f"http://127.0.0.1:{self.environ['PRETIX_PORT']}/anchor/{warm}/"
        for _ in range(20):
            with urllib.request.urlopen(shop, timeout=120) as answer:  # nosec B310 - pretix on loopback, an http URL we built
                answer.read()

    def stop(self) -> None:
        log(self.step("bash", str(self.harness / "04_serve.sh"), "stop").strip())

    def gunicorn_master(self) -> int:
        return int((self.anchor / "gunicorn.pid").read_text().split()[0])

    def run(self, concurrency: int, label: str) -> dict[str, Any]:
        slug = f"sbs{label}x{self.stamp}"
        self.harness_python("03_create_data.py", slug, str(self.quota))
        analyze_pretix_database()
        out = self.results / f"pretix_{label}.json"
        postmaster = postgres_postmaster()
        gunicorn = self.gunicorn_master()
        cpu_before = (tree_cpu_s(gunicorn), tree_cpu_s(postmaster))
        self.harness_python(
            "loadgen.py", "orders", "--event-json", f"event_{slug}.json",
            "-n", str(self.orders), "-c", str(concurrency), "--out", str(out),
        )  # fmt: skip
        cpu_after = (tree_cpu_s(gunicorn), tree_cpu_s(postmaster))
        load = json.loads(out.read_text())
        verify = json.loads(self.harness_python("05_verify.py", slug))
        sold = verify["live_positions_for_item"]
        per = max(1, load["n_ok"])
        spent = {
            "gunicorn": cpu_after[0] - cpu_before[0],
            "postgres_cluster": cpu_after[1] - cpu_before[1],
            "loadgen": load["loadgen_cpu_s"],
        }
        cpu = {name: round(1000 * s / per, 1) for name, s in spent.items()}
        cpu["total"] = round(1000 * sum(spent.values()) / per, 1)
        return {
            "orders_per_s": load["orders_per_s_until_soldout"],
            "purchase_p95_ms": load["lat_ms_ok"]["p95"],
            "purchase_p50_ms": load["lat_ms_ok"]["p50"],
            "sold": sold,
            "oversold": max(0, sold - verify["quota_size"]),
            "undersold": max(0, verify["quota_size"] - sold),
            "errors": load["n_other"],
            "sold_out_answers": load["n_quota"],
            "cpu_ms_per_order": cpu,
            "loadgen": load,
            "verify": verify,
        }


def analyze_pretix_database() -> None:
    """Fresh planner statistics for pretix's tables before a run.

    A default PostgreSQL gets them from autovacuum; the shared system cluster here runs with
    `autovacuum = off`, and without statistics pretix's quota check plans so badly that a
    rejection costs 0.5 s of PostgreSQL (2 answers a second instead of 13 on the same box).
    """
    subprocess.run(["su", "postgres", "-c", "psql -d pretix -qc ANALYZE"], check=True)


def postgres_postmaster() -> int:
    """The system cluster's postmaster, which holds pretix's database (as 09_cpu_split.sh)."""
    query = ["su", "postgres", "-c", "psql -Atc 'show data_directory'"]
    data_directory = subprocess.run(query, capture_output=True, text=True, check=True).stdout
    return int((Path(data_directory.strip()) / "postmaster.pid").read_text().split()[0])


def boxoffice_run(args: argparse.Namespace, concurrency: int, label: str) -> dict[str, Any]:
    argv = [
        sys.executable, str(BASE_DIR / "bench" / "flash_sale.py"),
        "--capacity", str(args.quota), "--buyers", str(args.orders),
        "--concurrency", str(concurrency),
    ]  # fmt: skip
    stderr_path = args.results / f"boxoffice_{label}.log"
    with stderr_path.open("w") as stderr:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, check=False)
    full = json.loads(done.stdout)
    (args.results / f"boxoffice_{label}.json").write_text(done.stdout)
    errors = full["http_5xx"] + sum(full["errors"].values())
    return {
        "orders_per_s": full["confirmed_per_s"],
        "purchase_p95_ms": full["purchase_ms"]["p95"],
        "purchase_p50_ms": full["purchase_ms"]["p50"],
        "sold": full["sold"],
        "oversold": full["oversold"],
        "undersold": full["undersold"],
        "errors": errors,
        "sold_out_answers": full["sold_out_answers"],
        "cpu_ms_per_order": full["cpu_ms_per_purchase"],
        "mails_delivered": full.get("mails_delivered"),
        "db_ok": full["db_ok"],
        "exit_status": done.returncode,
    }


SUMMARY_FIELDS = ("orders_per_s", "purchase_p95_ms", "oversold", "undersold", "errors")


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"runs": len(runs)}
    for key in SUMMARY_FIELDS:
        merged[key] = statistics.median(run[key] for run in runs)
    merged["cpu_ms_per_order_total"] = statistics.median(
        run["cpu_ms_per_order"]["total"] for run in runs
    )
    merged["each_orders_per_s"] = [run["orders_per_s"] for run in runs]
    merged["each_purchase_p95_ms"] = [run["purchase_p95_ms"] for run in runs]
    return merged


def summarize(runs: list[dict[str, Any]], concurrencies: list[int]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for concurrency in concurrencies:
        cell: dict[str, Any] = {}
        for side in ("pretix", "boxoffice"):
            mine = [r for r in runs if r["side"] == side and r["concurrency"] == concurrency]
            if mine:
                cell[side] = medians(mine)
        if len(cell) == 2:
            ours, theirs = cell["boxoffice"], cell["pretix"]
            cell["ratio"] = {
                "orders_per_s_boxoffice_over_pretix": round(
                    ours["orders_per_s"] / theirs["orders_per_s"], 2
                ),
                "purchase_p95_pretix_over_boxoffice": round(
                    theirs["purchase_p95_ms"] / ours["purchase_p95_ms"], 2
                ),
                "cpu_per_order_pretix_over_boxoffice": round(
                    theirs["cpu_ms_per_order_total"] / ours["cpu_ms_per_order_total"], 2
                ),
            }
        summary[f"C={concurrency}"] = cell
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--harness", type=Path, required=True, help="the pretix anchor harness")
    parser.add_argument("--quota", type=int, default=2000, help="tickets (pretix QUOTA, our K)")
    parser.add_argument("--orders", type=int, default=6000, help="buyers (pretix N, our B)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first", choices=["pretix", "boxoffice"], default="pretix")
    parser.add_argument("--stop-by", help="HH:MM UTC: start no run after this time")
    parser.add_argument("--out", type=Path, required=True, help="JSON file, rewritten per run")
    parser.add_argument(
        "--resume", action="store_true", help="keep --out's runs and do only the missing ones"
    )
    args = parser.parse_args(argv)
    args.results = args.out.parent / args.out.stem
    args.results.mkdir(parents=True, exist_ok=True)

    pretix = Pretix(args.harness, args.quota, args.orders, args.results)
    report: dict[str, Any] = {
        "quota": args.quota,
        "orders": args.orders,
        "started": now_utc(),
        "load_avg_at_start": load_average(),
        "pretix_config": pretix.environ["PRETIX_CONFIG_FILE"],
        "runs": [],
    }
    if args.resume and args.out.exists():
        report = json.loads(args.out.read_text())
        report.setdefault("resumed", []).append(now_utc())
        report.pop("cut_short", None)
    done = {(run["side"], run["concurrency"], run["round"]) for run in report["runs"]}
    sides = ["pretix", "boxoffice"] if args.first == "pretix" else ["boxoffice", "pretix"]
    serving = False
    try:
        for round_number in range(1, args.rounds + 1):
            for concurrency in args.concurrency:
                for side in sides:
                    if (side, concurrency, round_number) in done:
                        continue
                    if args.stop_by and datetime.now(UTC).strftime("%H:%M") >= args.stop_by:
                        raise TimeoutError(f"--stop-by {args.stop_by} reached")
                    label = f"c{concurrency}r{round_number}"
                    log(f"{side} {label}: start, load {load_average()}")
                    start, before = now_utc(), load_average()
                    started = time.monotonic()
                    if side == "pretix":
                        if not serving:
                            pretix.start()
                            serving = True
                        result = pretix.run(concurrency, label)
                    else:
                        result = boxoffice_run(args, concurrency, label)
                    result = {
                        "side": side, "concurrency": concurrency, "round": round_number,
                        "start": start, "end": now_utc(),
                        "wall_s": round(time.monotonic() - started, 1),
                        "load_avg_before": before, "load_avg_after": load_average(),
                        **result,
                    }  # fmt: skip
                    log(f"{side} {label}: {result['orders_per_s']} orders/s, load {before} -> "
                        f"{result['load_avg_after']}")  # fmt: skip
                    report["runs"].append(result)
                    report["summary"] = summarize(report["runs"], args.concurrency)
                    args.out.write_text(json.dumps(report, indent=2))
            sides.reverse()
    except TimeoutError as stopped:
        report["cut_short"] = str(stopped)
    finally:
        if serving:
            pretix.stop()
    report["ended"] = now_utc()
    report["load_avg_at_end"] = load_average()
    report["summary"] = summarize(report["runs"], args.concurrency)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
