"""Benchmark of the two writes that keep hand-written PostgreSQL paths: the facts rebuild and
the profiles' COPY, each against the portable path the embedded SQLite default takes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench \\
        .venv/bin/python bench/bench_facts.py [--customers 100000] [--events 900000] [--repeat 3]

Uses the venue "Bench Arena" of DATABASE_URL, loading it with `manage.py demo_data` (and
computing its profiles) when it is missing. Each write runs in a transaction that is rolled
back, so every repeat starts from the same tables. Prints, medians over the repeats:

- the facts rebuild done by the database (`INSERT … SELECT`, what `facts_rebuild` does on
  PostgreSQL) against the same aggregate fetched into Python and written back in batches
  (what it does elsewhere), and their ratio;
- the venue's profiles written by binary COPY (`db.bulk.rows_insert`) against `bulk_create`,
  and their ratio.

Figures depend on the machine and on what else runs on it: quote the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/customer_intel_bench"
BENCH_VENUE = "Bench Arena"

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("CUSTOMER_ID_HMAC_KEY", "bench-only-not-secret")  # synthetic ids only
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# DEBUG would keep every query and its parameters in memory and distort the figures.
os.environ["DEBUG"] = "0"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from zoneinfo import ZoneInfo  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from customer_intel.db.bulk import rows_insert  # noqa: E402
from customer_intel.models import CustomerFacts, CustomerProfile, RunMode, Venue  # noqa: E402
from customer_intel.services.facts import aggregate, store  # noqa: E402
from customer_intel.services.recompute import run_recompute  # noqa: E402
from customer_intel.services.recompute.profiles import WRITE_FIELDS  # noqa: E402


class _RolledBack(Exception):
    pass


def timed_and_rolled_back(work: Callable[[], object]) -> float:
    """Seconds `work` takes inside a transaction that is then rolled back."""
    started = time.perf_counter()
    try:
        with transaction.atomic():
            work()
            elapsed = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        pass
    return elapsed


def rebuild_in_python(venue: Venue) -> None:
    """The portable rebuild: the aggregate read into Python, written back in batches."""
    CustomerFacts.objects.filter(venue=venue).delete()
    events = aggregate.events_of(venue=venue)
    for batch in store._batches(aggregate.facts_aggregate(events, tz=ZoneInfo(venue.timezone))):
        store._store(venue=venue, facts=batch, replace=False)


def bench_venue(customers: int, events: int) -> Venue:
    venue = Venue.objects.filter(name=BENCH_VENUE).first()
    if venue is None:
        call_command(
            "demo_data", "--customers", str(customers), "--events", str(events), verbosity=0
        )
        venue = Venue.objects.get(name=BENCH_VENUE)
    if not CustomerProfile.objects.filter(venue=venue).exists():
        run_recompute(venue=venue, mode=RunMode.FULL)
    return venue


def report(name: str, fast: list[float], slow: list[float], fast_name: str, slow_name: str):  # type: ignore[no-untyped-def]
    fast_median, slow_median = statistics.median(fast), statistics.median(slow)
    print(f"{name}")
    print(f"  {fast_name:<34} {fast_median:8.2f} s  (runs: {', '.join(f'{s:.2f}' for s in fast)})")
    print(f"  {slow_name:<34} {slow_median:8.2f} s  (runs: {', '.join(f'{s:.2f}' for s in slow)})")
    print(f"  factor                             {slow_median / fast_median:8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=900_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench_facts measures PostgreSQL's paths: point DATABASE_URL at PostgreSQL")

    venue = bench_venue(args.customers, args.events)
    facts = CustomerFacts.objects.filter(venue=venue).count()
    profiles = list(
        CustomerProfile.objects.filter(venue=venue).order_by("customer").values_list(*WRITE_FIELDS)
    )
    print(f"database {connection.settings_dict['NAME']}, venue {BENCH_VENUE}: ")
    print(f"  {facts:,} facts rows, {len(profiles):,} profiles\n")

    server, python = [], []
    for _ in range(args.repeat):
        server.append(timed_and_rolled_back(lambda: store.facts_rebuild(venue=venue)))
        python.append(timed_and_rolled_back(lambda: rebuild_in_python(venue)))
    report("facts rebuild", server, python, "INSERT ... SELECT (PostgreSQL)", "through Python")

    def write_by_copy() -> None:
        CustomerProfile.objects.filter(venue=venue).delete()
        rows_insert(
            CustomerProfile, fields=WRITE_FIELDS, rows=profiles, fixed={"venue_id": venue.pk}
        )

    def write_by_bulk_create() -> None:
        CustomerProfile.objects.filter(venue=venue).delete()
        CustomerProfile.objects.bulk_create(
            (
                CustomerProfile(venue=venue, **dict(zip(WRITE_FIELDS, row, strict=True)))
                for row in profiles
            ),
            batch_size=500,
        )

    copy, orm = [], []
    for _ in range(args.repeat):
        copy.append(timed_and_rolled_back(write_by_copy))
        orm.append(timed_and_rolled_back(write_by_bulk_create))
    print()
    report("profiles write", copy, orm, "binary COPY (rows_insert)", "bulk_create")


if __name__ == "__main__":
    main()
