"""In-process benchmark of the read API: CPU per request against a minimal DRF endpoint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench \\
        .venv/bin/python bench/bench_api.py [--seconds 3] [--repeat 5] [--plans] [--csv]

Needs a venue with profiles in that database, e.g. a million customers from
`manage.py demo_data --customers 1000000 --events 3000000 --recompute` (the largest venue is
used). Creates a reader with a token, then calls the WSGI application in a loop in this
process (no server, no network, no concurrency):

- `GET /bench/ping` (bench/api_urls.py): token authentication, throttling and JSON
  rendering with no query of its own, the floor;
- the profile, RFM, lifetime value and insights of 1,000 random customers; a search page (50
  rows, two filters, an ordering); the segments.

Each scenario runs --seconds per round, in --slices alternating with as much of ping, so a
change of the machine's speed moves both alike. For each it prints the CPU milliseconds per
request of this process and of its PostgreSQL backend (read from /proc; the database runs on
the same machine) and the wall time, and the guards, as the median over --repeat rounds of the
ratio of the whole CPU (process + backend) to ping's: profile, RFM, CLV, insights <= 3x;
segments <= 2x; search page <= 8x. The guards keep reads from becoming slow; they are not a
budget. `--plans` times the first page of searches at the far end of their ordering with and
without the search plan; `--csv` streams the venue's whole CSV export and reports the
process's peak memory before and after.
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
os.environ.setdefault("CUSTOMER_ID_HMAC_KEY", "bench-only-not-secret")  # synthetic ids only
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

from customer_intel.api import pagination  # noqa: E402
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


class Meter:
    """CPU and wall time of a run of requests, summed over the slices it is measured in."""

    def __init__(self) -> None:
        self.process = self.database = self.wall = 0.0
        self.requests = 0

    def run(self, paths: list[str], token: str, seconds: float) -> None:
        pid = backend_pid()
        cpu, db, wall = time.process_time(), backend_cpu_seconds(pid), time.perf_counter()
        deadline = wall + seconds
        start = self.requests
        while time.perf_counter() < deadline:
            path = paths[self.requests % len(paths)]
            status, body = call(path, token)
            if not status.startswith("200"):
                raise RuntimeError(f"{path} answered {status}: {body[:300]}")
            self.requests += 1
        if backend_pid() != pid:
            raise RuntimeError("the database connection changed during the measurement")
        self.process += time.process_time() - cpu
        self.database += backend_cpu_seconds(pid) - db
        self.wall += time.perf_counter() - wall
        assert self.requests > start

    def per_request(self) -> dict[str, float]:
        """Milliseconds per request: CPU of this process, of its backend, both; wall time."""
        process = self.process * 1000 / self.requests
        database = self.database * 1000 / self.requests
        wall = self.wall * 1000 / self.requests
        return {"process": process, "database": database, "total": process + database, "wall": wall}


def measure_beside_ping(
    paths: list[str], ping: list[str], token: str, seconds: float, slices: int
) -> tuple[dict[str, float], dict[str, float]]:
    """`paths` and ping, `seconds` each, in alternating slices: a change of the machine's
    speed during the measurement moves both alike."""
    scenario, floor = Meter(), Meter()
    for _ in range(slices):
        floor.run(ping, token, seconds / slices)
        scenario.run(paths, token, seconds / slices)
    return scenario.per_request(), floor.per_request()


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
    started, cpu = time.perf_counter(), time.process_time()
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
        f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s of this "
        f"process's CPU); peak RSS {before:.0f} MB before, "
        f"{peak_rss_mb():.0f} MB after"
    )


# Searches whose rows sit at the far end of their ordering's index (search_plan).
FAR_END_SEARCHES = [
    "segment=vip&ordering=predictedLifetimeValue",
    "segment=vip,regular&ordering=totalSpent",
    "rfmSegment=Champions&ordering=-daysSinceLastPurchase",
]


def search_plans(base: str, token: str, repeat: int) -> None:
    """Wall time of the first page of far-end searches: the search plan (walk under a budget,
    then sort the segment's rows) against walking the ordering's index alone."""
    print("\nfirst page of searches at the far end of their ordering (median wall ms):")
    for query in FAR_END_SEARCHES:
        timings = {}
        for plan, budget in (("plan", pagination.WALK_BUDGET), ("walk only", "0")):
            pagination.WALK_BUDGET = budget  # "0": no statement timeout
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                status, body = call(f"{base}/search?{query}", token)
                runs.append((time.perf_counter() - started) * 1000)
                if not status.startswith("200"):
                    raise RuntimeError(f"{query} answered {status}: {body[:300]}")
            timings[plan] = statistics.median(runs)
        pagination.WALK_BUDGET = "30ms"
        print(f"  {query}: {timings['plan']:.0f} ms (walk only: {timings['walk only']:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per scenario and round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds")
    parser.add_argument("--slices", type=int, default=6, help="ping/scenario alternations")
    parser.add_argument("--csv", action="store_true", help="also time the whole CSV export")
    parser.add_argument("--plans", action="store_true", help="also time far-end searches")
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
        Meter().run(paths, token, min(args.seconds, 2.0))

    ping = scenarios.pop("ping")
    rounds: dict[str, list[dict[str, float]]] = {"ping": []}
    ratios: dict[str, list[float]] = {}
    for number in range(args.repeat):
        line = []
        for name, paths in scenarios.items():
            figures, floor = measure_beside_ping(paths, ping, token, args.seconds, args.slices)
            rounds.setdefault(name, []).append(figures)
            rounds["ping"].append(floor)
            ratios.setdefault(name, []).append(figures["total"] / floor["total"])
            line.append(f"{name} {ratios[name][-1]:.2f}x")
        print(f"round {number + 1}: " + ", ".join(line), flush=True)

    def median(name: str, field: str) -> float:
        return statistics.median(run[field] for run in rounds[name])

    print(
        f"\nmedians of {args.repeat} rounds, {args.seconds:g} s per scenario beside as much of "
        f"ping; CPU ms per request; ratios: median of each round's ratio to its ping\n"
        f"{'scenario':12} {'process':>8} {'database':>9} {'total':>7} {'wall':>7} "
        f"{'x ping':>7}  guard"
    )
    met = 0
    for name in ["ping", *scenarios]:
        guard = GUARDS.get(name)
        found = statistics.median(ratios[name]) if name in ratios else 1.0
        verdict = "" if guard is None else f"<= {guard:g}x {'met' if found <= guard else 'MISSED'}"
        met += guard is not None and found <= guard
        print(
            f"{name:12} {median(name, 'process'):>8.3f} {median(name, 'database'):>9.3f} "
            f"{median(name, 'total'):>7.3f} {median(name, 'wall'):>7.3f} {found:>6.2f}x  "
            f"{verdict}"
        )
    print(f"\nguards: {met} of {len(GUARDS)} met")
    if args.plans:
        search_plans(base, token, repeat=3)
    if args.csv:
        csv_export(venue, token)


if __name__ == "__main__":
    main()
