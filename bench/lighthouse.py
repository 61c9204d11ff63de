"""Lighthouse (mobile preset) on the event list and an event page; prints the scores as JSON.

    make run                                    # in another shell: demo data on :8000
    .venv/bin/python bench/lighthouse.py        # or --url http://127.0.0.1:8180

Lighthouse comes from npm (package.json devDependencies, `npm ci`) and drives Debian's
Chromium (CHROME_PATH). Mobile is Lighthouse's default form factor: a Moto G class phone with
simulated slow 4G and a 4x slower CPU. Prints per page performance and accessibility (0-100),
CLS, LCP and TBT.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"


def first_event_path(base: str) -> str:
    with urllib.request.urlopen(f"{base}/events/", timeout=30) as response:  # noqa: S310 - our server
        html = response.read().decode()
    match = re.search(r'href="(/events/[0-9a-f-]{36}/[^"/]+/)"', html)
    if not match:
        raise SystemExit("No event on /events/: run seed_demo first.")
    return match.group(1)


def audit(url: str, chrome: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                "--quiet",
                "--only-categories=performance,accessibility",
                "--output=json",
                f"--output-path={report}",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            ],
            check=True,
            env={**os.environ, "CHROME_PATH": chrome},
        )
        data = json.loads(report.read_text())
    audits = data["audits"]
    return {
        "performance": round(data["categories"]["performance"]["score"] * 100),
        "accessibility": round(data["categories"]["accessibility"]["score"] * 100),
        "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "form_factor": data["configSettings"]["formFactor"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"))
    args = parser.parse_args()
    base = args.url.rstrip("/")
    chrome = os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    pages = {"/events/": f"{base}/events/", "event page": base + first_event_path(base)}
    print(json.dumps({name: audit(url, chrome) | {"url": url} for name, url in pages.items()}))


if __name__ == "__main__":
    main()
