"""In-process benchmark of the read API: CPU per request against a minimal DRF endpoint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench \\
        .venv/bin/python bench/bench_api.py [--seconds 3] [--repeat 5] [--csv]

Needs a venue with profiles in that database, e.g. a million customers from
`manage.py demo_data --customers 1000000 --events 3000000 --recompute` (the largest venue is
used). Creates a reader with a token, then calls the WSGI application in a loop in this
process (no server, no network, no concurrency), each scenario for --seconds, rotating its
URLs, in --repeat rounds:

- `GET /bench/ping` (bench/api_urls.py): token authentication, throttling and JSON
  rendering with no query of its own, the floor;
- the profile, RFM, lifetime value and insights of 1,000 random customers; a search page (50
  rows, two filters, an ordering); the segments.

For each it prints the CPU milliseconds per request of this process and of its PostgreSQL
backend (read from /proc; the database runs on the same machine) and the wall time, and the
guards, as ratios of the whole CPU (process + backend) to ping's, median of the rounds' ratios:
profile, RFM, CLV, insights <= 3x; segments <= 2x; search page <= 8x. The guards keep reads
from becoming slow; they are not a budget. `--csv` also streams the venue's whole CSV export
and reports the process's peak memory before and after.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/customer_intel_bench")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.api_settings"
# One token drives the whole run: its throttle log holds one second of requests.
os.environ["API_THROTTLE_RATE"] = "1000000/s"
os.environ["LOG_LEVEL"] = "ERROR"
# One connection, one backend to read the CPU of, for the whole run.
os.environ["DB_CONN_MAX_AGE"] = "86400"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from customer_intel.models import CustomerProfile, Venue, VenueMembership  # noqa: E402

BENCH_USER = "api-bench-reader"
SEARCHES = [
    "segment=at_risk&minTotalSpent=500&ordering=-totalSpent",
    "segment=vip&purchaseTime=evening&ordering=-predictedLifetimeValue",
]
# Each scenario's guard: its CPU per request at most this many times ping's.
GUARDS = {
    "profile": 3.0,
    "rfm": 3.0,
    "clv": 3.0,
    "insights": 3.0,
    "segments": 2.0,
    "search page": 8.0,
}
TICKS = os.sysconf("SC_CLK_TCK")
APPLICATION = get_wsgi_application()


def bench_venue() -> tuple[Venue, str, list[str]]:
    """The venue with the most profiles, a reader's token, and 1,000 of its customers."""
    largest = (
        CustomerProfile.objects.values("venue_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("venue_id", "n")
        .first()
    )
    if largest is None:
        sys.exit("no profiles: run `manage.py demo_data --customers N --events M --recompute`")
    venue = Venue.objects.get(pk=largest[0])
    print(f"venue {venue.name!r} ({venue.pk}): {largest[1]:,} profiles")
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    VenueMembership.objects.get_or_create(user=user, venue=venue, defaults={"can_write": False})
    token, _ = Token.objects.get_or_create(user=user)
    sample = list(
        CustomerProfile.objects.filter(venue=venue)
        .order_by("?")
        .values_list("customer", flat=True)[:1000]
    )
    return venue, token.key, sample


def call(path: str, token: str) -> tuple[str, bytes]:
    """One request through the WSGI application: its status line and body."""
    route, _, query = path.partition("?")
    environ: dict = {
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_ACCEPT": "application/json",
        "SERVER_NAME": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
    }
    setup_testing_defaults(environ)
    status: list[str] = []
    response = APPLICATION(environ, lambda line, headers, exc_info=None: status.append(line))
    try:
        body = b"".join(response)
    finally:
        response.close()
    return status[0], body


def backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def measure(paths: list[str], token: str, seconds: float) -> dict[str, float]:
    """Requests over `paths` for `seconds`: CPU ms per request (process, backend), wall ms."""
    pid = backend_pid()
    requests = 0
    cpu, db, wall = time.process_time(), backend_cpu_seconds(pid), time.perf_counter()
    deadline = wall + seconds
    while time.perf_counter() < deadline:
        status, body = call(paths[requests % len(paths)], token)
        if not status.startswith("200"):
            raise RuntimeError(f"{paths[requests % len(paths)]} answered {status}: {body[:300]}")
        requests += 1
    if backend_pid() != pid:
        raise RuntimeError("the database connection changed during the measurement")
    process = (time.process_time() - cpu) * 1000 / requests
    database = (backend_cpu_seconds(pid) - db) * 1000 / requests
    return {
        "process": process,
        "database": database,
        "total": process + database,
        "wall": (time.perf_counter() - wall) * 1000 / requests,
        "requests": requests,
    }


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def csv_export(venue: Venue, token: str) -> None:
    """The venue's whole CSV export through the application, consumed chunk by chunk."""
    before = peak_rss_mb()
    environ: dict = {
        "PATH_INFO": f"/customers/venue/{venue.pk}/search",
        "QUERY_STRING": "format=csv&ordering=-totalSpent",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "SERVER_NAME": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
    }
    setup_testing_defaults(environ)
    started = time.perf_counter()
    size = lines = 0
    response = APPLICATION(environ, lambda *args: None)
    try:
        for chunk in response:
            size += len(chunk)
            lines += chunk.count(b"\n")
    finally:
        response.close()
    print(
        f"\nCSV export: {lines - 1:,} rows, {size / 1e6:.0f} MB in "
        f"{time.perf_counter() - started:.1f} s; peak RSS {before:.0f} MB before, "
        f"{peak_rss_mb():.0f} MB after"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per scenario and round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds")
    parser.add_argument("--csv", action="store_true", help="also time the whole CSV export")
    args = parser.parse_args()

    venue, token, sample = bench_venue()
    base = f"/customers/venue/{venue.pk}"
    scenarios: dict[str, list[str]] = {
        "ping": ["/bench/ping"],
        "profile": [f"{base}/{customer}" for customer in sample],
        "rfm": [f"{base}/{customer}/rfm" for customer in sample],
        "clv": [f"{base}/{customer}/clv" for customer in sample],
        "insights": [f"{base}/{customer}/insights" for customer in sample],
        "segments": [f"{base}/segments"],
        "search page": [f"{base}/search?{query}" for query in SEARCHES],
    }
    for paths in scenarios.values():  # warm caches, the connection and the pages read
        measure(paths, token, min(args.seconds, 2.0))

    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in scenarios}
    for number in range(args.repeat):
        for name, paths in scenarios.items():
            rounds[name].append(measure(paths, token, args.seconds))
        ping = rounds["ping"][-1]["total"]
        line = ", ".join(f"{name} {runs[-1]['total'] / ping:.2f}x" for name, runs in rounds.items())
        print(f"round {number + 1}: ping {ping:.3f} ms CPU; {line}", flush=True)

    def median(name: str, field: str) -> float:
        return statistics.median(run[field] for run in rounds[name])

    def ratio(name: str) -> float:
        # Each round's ratio to the ping measured in the same round: the machine's drift
        # between rounds stays out of it.
        pairs = zip(rounds[name], rounds["ping"], strict=True)
        return statistics.median(run["total"] / ping["total"] for run, ping in pairs)

    print(
        f"\nmedians of {args.repeat} rounds of {args.seconds:g} s; CPU ms per request\n"
        f"{'scenario':12} {'process':>8} {'database':>9} {'total':>7} {'wall':>7} "
        f"{'x ping':>7}  guard"
    )
    met = 0
    for name in scenarios:
        guard = GUARDS.get(name)
        found = ratio(name)
        verdict = "" if guard is None else f"<= {guard:g}x {'met' if found <= guard else 'MISSED'}"
        met += guard is not None and found <= guard
        print(
            f"{name:12} {median(name, 'process'):>8.3f} {median(name, 'database'):>9.3f} "
            f"{median(name, 'total'):>7.3f} {median(name, 'wall'):>7.3f} {found:>6.2f}x  "
            f"{verdict}"
        )
    print(f"\nguards: {met} of {len(GUARDS)} met")
    if args.csv:
        csv_export(venue, token)


if __name__ == "__main__":
    main()
