"""CPU of one purchase in the web process and its PostgreSQL backend, without HTTP or load.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/purchase_cpu.py            # 300 sales
    .venv/bin/python bench/purchase_cpu.py --purchases 500 --seated
    .venv/bin/python bench/purchase_cpu.py --profile > profile.txt                    # + cProfile

One thread calls the production WSGI application (`config.wsgi.application`: the fast lanes,
the API lane, Django, DEBUG off) with `register` then `pay`, as `flash_sale.py`'s buyers do
(bearer tokens, `Accept-Encoding: gzip`), then twice as many registers that are refused
SOLD_OUT. The figures are CPU time, `time.process_time()` for this process and `/proc` for its
PostgreSQL backend, per purchase: unlike a rate they hardly depend on how busy the machine is,
and one thread leaves out gunicorn, threads and the load generator, so a change to the request
path shows in them alone. `flash_sale.py` stays the measure of the whole system.

It uses the database and Redis of DATABASE_URL / REDIS_URL (the devstack's when unset: run
`python -m config.devstack env`) and leaves its event, buyers and orders there (names carry a
run id). It prints one JSON object.
"""

import argparse
import cProfile
import gzip
import io
import json
import os
import pstats
import secrets
import sys
import time
import uuid
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # `python bench/purchase_cpu.py` from any directory
    sys.path.insert(0, str(BASE_DIR))

WARM_UP = 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=300)
    parser.add_argument("--seated", action="store_true", help="best available seat, not GA")
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU time) to stderr")
    args = parser.parse_args(argv)

    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    os.environ.update(
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        CACHE_KEY_PREFIX=f"purchase-cpu-{secrets.token_hex(3)}",
    )

    from bench.flash_sale import create_sale
    from bench.servers import backend_cpu_s
    from config.wsgi import application
    from ticketing.booking.gate import gate_sync

    sales = args.purchases + WARM_UP
    event_id, tier_id, tokens = create_sale(
        capacity=sales, buyers=3 * sales, run_id=secrets.token_hex(4), seated=args.seated
    )
    gate_sync(event_ids=[event_id])

    def post(path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/api/v1{path}",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_ACCEPT_ENCODING": "gzip, deflate",
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        status: list[int] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
            status.append(int(line[:3]))

        content = b"".join(application(environ, start_response))
        if content[:2] == b"\x1f\x8b":
            content = gzip.decompress(content)
        return status[0], json.loads(content)

    def register(i: int) -> tuple[int, Any]:
        choice: dict[str, Any] = (
            {"best_available": {"tier_id": tier_id, "quantity": 1}}
            if args.seated
            else {"tier_id": tier_id, "quantity": 1}
        )
        return post(
            f"/events/{event_id}/register",
            tokens[i],
            {**choice, "idempotency_key": uuid.uuid4().hex},
        )

    def purchase(i: int) -> None:
        status, order = register(i)
        if status != 201:
            raise SystemExit(f"register answered {status}: {order}")
        status, paid = post(
            f"/orders/{order['order_id']}/pay", tokens[i], {"idempotency_key": uuid.uuid4().hex}
        )
        if status != 200:
            raise SystemExit(f"pay answered {status}: {paid}")

    for i in range(WARM_UP):  # connections, caches, the event's signing key
        purchase(i)
    profile = cProfile.Profile(time.process_time) if args.profile else None
    backend, cpu, wall = backend_cpu_s(), time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    for i in range(WARM_UP, sales):
        purchase(i)
    if profile is not None:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    backend = backend_cpu_s() - backend
    refused, refusing = 0, time.process_time()
    for i in range(sales, 3 * sales):
        status, answer = register(i)
        refused += status == 409 and answer["error"]["code"] == "SOLD_OUT"
    refusing = time.process_time() - refusing
    n = args.purchases
    print(
        json.dumps(
            {
                "seated": args.seated,
                "purchases": n,
                "web_cpu_ms_per_purchase": round(1000 * cpu / n, 2),
                "postgres_backend_cpu_ms_per_purchase": round(1000 * backend / n, 2),
                "wall_ms_per_purchase": round(1000 * wall / n, 2),
                "sold_out_answers": refused,
                "sold_out_cpu_ms_each": round(1000 * refusing / (2 * sales), 3),
                "load_avg": os.getloadavg(),
            }
        )
    )
    if profile is not None:
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
    return 0 if refused == 2 * sales else 1


if __name__ == "__main__":
    sys.exit(main())
