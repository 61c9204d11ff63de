"""Container healthcheck: exit 0 when the local gunicorn answers GET /healthz with 200.

    python config/healthcheck.py

Standard library only, so a check every 30 s does not start Django. It sends the site's own Host
header: in production ALLOWED_HOSTS holds the public name, not localhost, and Django would answer
400 to `Host: localhost`. /healthz is exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT), so
plain http inside the container is fine.
"""

import os
import sys

# Run as a script, Python puts config/ first on sys.path, and config/http.py would shadow the
# standard library's http package that urllib needs.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402


def host_header() -> str:
    """The first name Django accepts: SITE_URL's host if allowed, else an ALLOWED_HOSTS entry."""
    allowed = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    site = urlsplit(os.environ.get("SITE_URL", "")).hostname
    if site and (not allowed or site in allowed or "*" in allowed):
        return site
    for name in allowed:
        if name != "*":
            return name.lstrip(".")
    return "localhost"


def main() -> int:
    port = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").rsplit(":", 1)[-1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz", headers={"Host": host_header()}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback http
            body = response.read().decode(errors="replace")
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read().decode(errors="replace"), exc.code
    except OSError as exc:
        print(f"healthz unreachable: {exc}", file=sys.stderr)
        return 1
    print(status, body)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
