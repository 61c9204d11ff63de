"""bandit over the project: every medium or high finding is justified where it is.

The project justifies a flagged line with ruff's port of the same check (`# noqa: S608 - why`)
or bandit's own `# nosec B608 - why`; a finding without either, or without the reason after
it, fails here.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
PACKAGES = [
    "accounts",
    "analytics",
    "checkin",
    "config",
    "core",
    "events",
    "notifications",
    "privacy",
    "ticketing",
    "waitlist",
    "bench",
]
JUSTIFIED = re.compile(r"#\s*(noqa:\s*S\d+|nosec\b[^-]*)[^-]*-\s*\w+")


def test_no_medium_or_high_bandit_finding_is_left_unjustified() -> None:
    packages = [p for p in PACKAGES if (BASE_DIR / p).is_dir()]
    result = subprocess.run(  # noqa: S603 - our own fixed command
        [sys.executable, "-m", "bandit", "-q", "-r", *packages, "-ll", "-f", "json"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    findings = json.loads(result.stdout)["results"]

    unjustified = []
    for finding in findings:
        lines = (BASE_DIR / finding["filename"]).read_text().splitlines()
        span = finding.get("line_range") or [finding["line_number"]]
        # A statement's comment may sit on any of its lines, or on the line just before it.
        nearby = lines[max(0, min(span) - 2) : max(span) + 1]
        if not any(JUSTIFIED.search(line) for line in nearby):
            unjustified.append(
                f"{finding['filename']}:{finding['line_number']} {finding['test_id']} "
                f"{finding['issue_severity']}: {finding['issue_text']}"
            )

    assert findings is not None
    assert unjustified == [], "\n".join(unjustified)
