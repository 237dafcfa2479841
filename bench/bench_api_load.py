"""Load benchmark of the read API under gunicorn: latency and throughput, for information.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench \\
        .venv/bin/python bench/bench_api_load.py [--seconds 10] [--concurrency 1 8 32] \\
        [--workers 3] [--worker-class sync] [--repeat 3] [--skip-csv]

The figures at concurrency 8 and 32 measure the machine (two shared cores serve a bounded
number of requests a second) more than the code; the guards on the code's cost are the
in-process ratios of bench/bench_api.py. This one needs wrk (https://github.com/wg/wrk;
`apt-get install wrk`), the load generator, and a venue with profiles (the largest is used,
as by bench_api.py). With gunicorn on loopback it measures, in one run:

- `GET /bench/ping`: a minimal authenticated DRF endpoint (bench/api_urls.py), the yardstick;
- the profile of a random customer, a search with two filters and an ordering, the segments;
  p50 / p95 / p99 latency and requests/s at each concurrency (wrk connections, each
  reconnecting when a sync worker closes it), medians over --repeat runs of --seconds each,
  with the CPU milliseconds per request of the gunicorn workers, of the PostgreSQL backends
  serving them and of wrk, and how many cores the whole machine had busy;
- a CSV export of every profile from a one-worker server: time, rows, and that worker's peak
  RSS (VmHWM) before and after.

The server gets this process's environment: with CACHE_URL set, it runs with the shared
(Redis) throttle log. The load generator shares the machine with the server: quote medians,
with that caveat.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/customer_intel_bench"
BENCH_USER = "api-bench-reader"

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.api_settings"
os.environ["DEBUG"] = "0"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from customer_intel.models import (  # noqa: E402
    CustomerProfile,
    Venue,
    VenueMembership,
)

# The server configuration measured by default (see docs/PERFORMANCE.md, "## API"): on two
# cores, three sync workers (one per core, one more to cover database waits) did as well as
# any; gthread workers with keep-alive saved wrk's reconnections but no server CPU.
DEFAULT_WORKERS = 3
DEFAULT_CLASS = "sync"
DEFAULT_THREADS = 1

SEARCHES = [
    "segment=at_risk&minTotalSpent=500&ordering=-totalSpent",
    "segment=vip&purchaseTime=evening&ordering=-predictedLifetimeValue",
]


def ensure_bench_venue() -> tuple[Venue, str, list[str]]:
    """The venue with the most profiles, a reader's token, and 1,000 of its customers."""
    largest = (
        CustomerProfile.objects.values("venue_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("venue_id", flat=True)
        .first()
    )
    if largest is None:
        sys.exit("no profiles: run `manage.py demo_data --customers N --events M --recompute`")
    venue = Venue.objects.get(pk=largest)
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    VenueMembership.objects.get_or_create(user=user, venue=venue, defaults={"can_write": False})
    token, _ = Token.objects.get_or_create(user=user)
    sample = list(
        CustomerProfile.objects.filter(venue=venue)
        .order_by("?")
        .values_list("customer", flat=True)[:1000]
    )
    return venue, token.key, sample


def start_server(port: int, workers: int, worker_class: str, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.api_settings",
        # One token drives the whole load: the per-token throttle must not cut it off. Per
        # second, so its log holds one second of requests (a few thousand, as a token at the
        # default 6,000/min would), not a minute's hundred thousand.
        "API_THROTTLE_RATE": "1000000/s",
        "LOG_LEVEL": "ERROR",
    }
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "config.wsgi",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        f"--threads={threads}",
        f"--bind=127.0.0.1:{port}",
        "--backlog=256",
        # A million-row CSV takes longer than the default 30 s worker timeout.
        "--timeout=600",
        "--log-level=error",
        # No access log: request paths may carry raw customer ids.
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not come up")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def require_wrk() -> str:
    """The path of wrk, the load generator; exits with how to install it when missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "bench_api.py needs wrk (https://github.com/wg/wrk), an HTTP load generator that "
            "costs the server little CPU: `apt-get install wrk` (Debian/Ubuntu) or "
            "`brew install wrk`."
        )
    return wrk


# Rotates over the scenario's paths and prints the figures as one JSON line. Latencies are in
# microseconds; `status` counts answers other than 2xx/3xx.
WRK_SCRIPT = """
local paths = {%(paths)s}
local counter = 0
wrk.headers["Authorization"] = "Token %(token)s"
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "p50": %%d, "p95": %%d, "p99": %%d, ' ..
    '"errors": %%d, "status_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


class CpuMeter:
    """CPU seconds spent by the gunicorn workers, the database backends serving them, the load
    generator, and the whole machine, between two readings."""

    def __init__(self, server: subprocess.Popen) -> None:
        self.server = server
        self.ticks = os.sysconf("SC_CLK_TCK")

    def _process_seconds(self, pids: list[int]) -> dict[int, float]:
        seconds = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / self.ticks  # utime + stime
        return seconds

    def _backend_pids(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
            return [pid for (pid,) in cursor.fetchall()]

    def _machine_seconds(self) -> float:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        busy = sum(int(value) for value in fields) - int(fields[3]) - int(fields[4])
        return busy / self.ticks  # all cores, idle and iowait excluded

    def read(self) -> dict[str, Any]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "server": self._process_seconds(worker_pids(self.server.pid)),
            # A backend that starts during the run (CONN_MAX_AGE renews connections) counts
            # from zero; one that ends loses its last reading's share, a slight undercount.
            "database": self._process_seconds(self._backend_pids()),
            "client": {0: children.ru_utime + children.ru_stime},
            "machine": {0: self._machine_seconds()},
        }

    @staticmethod
    def spent(before: dict[str, Any], after: dict[str, Any], side: str) -> float:
        """CPU seconds of `side` between two readings, over the processes alive at the end."""
        return sum(value - before[side].get(pid, 0.0) for pid, value in after[side].items())


def load(
    wrk: str, port: int, paths: list[str], token: str, concurrency: int, seconds: float
) -> dict[str, float]:
    """wrk over `paths` with `concurrency` connections for `seconds`: latency percentiles (ms),
    requests/s. wrk keeps a connection open when the server allows it (gthread workers) and
    reconnects when the server closes it (sync workers)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in paths), "token": token}
        )
    try:
        command = [
            wrk,
            "--threads=1",
            f"--connections={concurrency}",
            f"--duration={seconds:g}s",
            "--timeout=60s",
            f"--script={script.name}",
            f"http://127.0.0.1:{port}",
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    line = next((ln for ln in output.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    figures = json.loads(line[4:])
    if figures["errors"] or figures["status_errors"]:
        raise RuntimeError(
            f"{figures['status_errors']} non-2xx answers and {figures['errors']} socket errors "
            f"in {figures['requests']} requests to {paths[0]} at concurrency {concurrency}"
        )
    return {
        "p50": figures["p50"] / 1000,
        "p95": figures["p95"] / 1000,
        "p99": figures["p99"] / 1000,
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "requests": figures["requests"],
    }


def measured_load(meter: CpuMeter, *args: Any) -> dict[str, float]:
    """`load` plus the CPU milliseconds per request of each side, and the machine's load."""
    before = meter.read()
    figures = load(*args)
    after = meter.read()
    seconds = args[-1]
    for side in ("server", "database", "client"):
        figures[f"cpu_{side}"] = meter.spent(before, after, side) * 1000 / figures["requests"]
    # Cores busy on average during the run, whoever used them.
    figures["machine_cores"] = meter.spent(before, after, "machine") / seconds
    return figures


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def csv_export(wrk: str, port: int, venue: Venue, token: str) -> dict[str, float]:
    """Stream every profile as CSV from a one-worker server; time, rows, the worker's RSS."""
    server = start_server(port, workers=1, worker_class="sync", threads=1)
    try:
        load(wrk, port, [f"/customers/venue/{venue.pk}/segments"], token, 1, 1)  # warm up
        (pid,) = worker_pids(server.pid)
        before = peak_rss_mb(pid)
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request(
            "GET",
            f"/customers/venue/{venue.pk}/search?format=csv&ordering=-totalSpent",
            headers={"Authorization": f"Token {token}"},
        )
        response = conn.getresponse()
        first_byte = time.perf_counter() - started
        size = lines = 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"CSV export answered {response.status}")
        return {
            "rows": lines - 1,
            "seconds": elapsed,
            "first_byte_seconds": first_byte,
            "megabytes": size / 1e6,
            "rss_before_mb": before,
            "rss_peak_mb": peak_rss_mb(pid),
        }
    finally:
        stop_server(server)


PING = "ping (minimal DRF)"
PROFILE = "profile"
SEARCH = "search (2 filters + ordering)"
SEGMENTS = "segments"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="of load per measurement")
    # Concurrency 1 is the service time without queueing, for reading the others.
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default=DEFAULT_CLASS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument(
        "--only", nargs="+", choices=["ping", "profile", "search", "segments"], help="scenarios"
    )
    args = parser.parse_args()
    wrk = require_wrk()

    venue, token, sample = ensure_bench_venue()
    base = f"/customers/venue/{venue.pk}"
    scenarios = {
        PING: ["/bench/ping"],
        PROFILE: [f"{base}/{customer}" for customer in sample],
        SEARCH: [f"{base}/search?{query}" for query in SEARCHES],
        SEGMENTS: [f"{base}/segments"],
    }
    if args.only:
        scenarios = {
            name: paths for name, paths in scenarios.items() if name.split()[0] in args.only
        }
    server_line = (
        f"gunicorn {args.workers} {args.worker_class} workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
        + f" on {os.cpu_count()} cores"
    )
    print(f"venue {venue.pk}; {server_line}; wrk, 1 thread")
    server = start_server(args.port, args.workers, args.worker_class, args.threads)
    meter = CpuMeter(server)
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    try:
        for paths in scenarios.values():  # warm every worker, thread and database connection
            load(wrk, args.port, paths, token, max(args.concurrency), 2)
        for _ in range(args.repeat):
            for concurrency in args.concurrency:
                for name, paths in scenarios.items():
                    figures = measured_load(
                        meter, wrk, args.port, paths, token, concurrency, args.seconds
                    )
                    runs.setdefault((name, concurrency), []).append(figures)
                    print(
                        f"  {name} x{concurrency}: p50 {figures['p50']:.1f} ms, "
                        f"{figures['rps']:.0f} req/s",
                        flush=True,
                    )
    finally:
        stop_server(server)

    results = {
        key: {field: statistics.median(run[field] for run in values) for field in values[0]}
        for key, values in runs.items()
    }
    print(f"\nmedians over {args.repeat} runs of {args.seconds:g} s each; {server_line}")
    print(
        f"{'endpoint':30} {'conc':>4} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>6}"
        f" | CPU ms/request: {'server':>6} {'db':>5} {'wrk':>5} | cores busy"
    )
    for (name, concurrency), median in sorted(
        results.items(), key=lambda item: (item[0][1], list(scenarios).index(item[0][0]))
    ):
        print(
            f"{name:30} {concurrency:>4} {median['p50']:>7.1f} {median['p95']:>7.1f} "
            f"{median['p99']:>7.1f} {median['rps']:>6.0f} | {'':15} {median['cpu_server']:>6.2f} "
            f"{median['cpu_database']:>5.2f} {median['cpu_client']:>5.2f} | "
            f"{median['machine_cores']:.2f} of {os.cpu_count()}"
        )

    if not args.skip_csv:
        figures = csv_export(wrk, args.port + 1, venue, token)
        print(
            f"\nCSV export: {figures['rows']:,} rows, {figures['megabytes']:.0f} MB in "
            f"{figures['seconds']:.1f} s (first byte after {figures['first_byte_seconds']:.2f} "
            f"s); worker peak RSS {figures['rss_before_mb']:.0f} MB before, "
            f"{figures['rss_peak_mb']:.0f} MB after"
        )


if __name__ == "__main__":
    main()
