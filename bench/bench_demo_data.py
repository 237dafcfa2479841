"""Benchmark of the benchmark-size load: `demo_data --customers 1000000 --events 9000000`.

Runs against DATABASE_URL (default postgres://postgres@127.0.0.1:5432/customer_intel_bench),
creating and migrating the database when needed. Previous "Bench Arena" data is deleted first
(timed apart), then the load is timed and its rows per second printed. The data is left in
place for the recompute benchmark: the venue named "Bench Arena".

    .venv/bin/python bench/bench_demo_data.py [--customers N] [--events M] [--seed S]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/customer_intel_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=9_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("CUSTOMER_ID_HMAC_KEY", "bench-only-not-secret")  # synthetic ids only
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DEBUG", "0")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.databases import database_ensure

    database_ensure(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from customer_intel.demo import BENCH_VENUE_NAME
    from customer_intel.models import CustomerEvent, Venue
    from customer_intel.services.demo_data import demo_venues_delete

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    deleted = demo_venues_delete(names=[BENCH_VENUE_NAME])
    if deleted:
        print(f"deleted the previous {BENCH_VENUE_NAME} in {time.perf_counter() - started:.1f}s")

    started = time.perf_counter()
    call_command(
        "demo_data",
        customers=args.customers,
        events=args.events,
        seed=args.seed,
        recompute=False,
        verbosity=1,
    )
    seconds = time.perf_counter() - started

    venue = Venue.objects.get(name=BENCH_VENUE_NAME)
    stored = CustomerEvent.objects.filter(venue=venue).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
    print()
    print(f"database:        {connection.settings_dict['NAME']} ({version})")
    print(f"customers:       {args.customers:,}")
    print(f"events:          {args.events:,} (stored in {BENCH_VENUE_NAME}: {stored:,})")
    print(f"wall time:       {seconds:.1f}s")
    print(f"rows per second: {args.events / seconds:,.0f}")
    print(f"venue id:        {venue.pk}  (name {BENCH_VENUE_NAME!r})")


if __name__ == "__main__":
    main()
