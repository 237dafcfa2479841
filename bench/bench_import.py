"""Benchmark of `manage.py import_events` on PostgreSQL: a history file into a venue that
already holds millions of events.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench_import \\
        .venv/bin/python bench/bench_import.py [--base-customers 1000000] \\
        [--base-events 9000000] [--rows 1000000] [--batch-size 100000] [--repeat 3]

Loads "Bench Arena" with `manage.py demo_data` and a full recompute the first time (kept for
the next runs), writes a CSV file of --rows lines (90% of them the venue's customers, the rest
new ones; event ids new on every run), then prints, in one run:

- the floor: PostgreSQL's bare COPY of the file into an unindexed table of text columns
  (median of --repeat);
- the import (a subprocess, as an operator runs it): its own time (from its log line) and its
  wall time with the process's start, rows/s, the ratio to the floor and its peak RSS;
- the full recompute after it, and the time until the venue's profiles reflect the import
  (import + recompute);
- the same file imported again (every row a duplicate);
- the former path (each batch through the REST batch's validation and insert) on a sample;
- one REST batch of 5,000 events with facts kept current (median of --repeat), the figure the
  bulk path must leave where it was.

Every import adds --rows events to the venue; the venue is rebuilt with --rebuild-base.
Figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/customer_intel_bench_import"
BENCH_VENUE = "Bench Arena"
HISTORY_END = "2026-06-01T00:00:00+00:00"

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("CUSTOMER_ID_HMAC_KEY", "bench-only-not-secret")  # synthetic ids only
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# DEBUG would keep every query in memory and distort the figures (and the peak RSS).
os.environ["DEBUG"] = "0"
os.environ.pop("CELERY_BROKER_URL", None)
sys.path.insert(0, str(ROOT))


from bench.databases import database_ensure  # noqa: E402

database_ensure(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.history_file import CATEGORIES, history_write  # noqa: E402
from customer_intel.models import CustomerEvent, RunMode, RunStatus, Venue  # noqa: E402
from customer_intel.privacy import pseudonymize  # noqa: E402
from customer_intel.services.csv_import import events_import_batched  # noqa: E402
from customer_intel.services.csv_records import CsvReader  # noqa: E402
from customer_intel.services.event_validation import EVENT_FIELDS, ValidatedEvent  # noqa: E402
from customer_intel.services.ingestion import ingest_events  # noqa: E402
from customer_intel.services.recompute import run_recompute  # noqa: E402

FLOOR_TABLE = "bench_import_floor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-customers", type=int, default=1_000_000)
    parser.add_argument("--base-events", type=int, default=9_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=100_000,
        help="The import's rows per transaction (its default 100,000: ten chunks of a "
        "million-line file, whose next chunk is prepared while the current one is stored).",
    )
    parser.add_argument("--repeat", type=int, default=3, help="Repeats of the floor and REST.")
    parser.add_argument("--rebuild-base", action="store_true", help="Reload the venue first.")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    venue = _base_venue(args.base_customers, args.base_events, rebuild=args.rebuild_base)
    stored = CustomerEvent.objects.filter(venue=venue).count()
    print(f"venue {venue.pk}: {stored:,} events before the import", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_import_") as directory:
        path = Path(directory) / "history.csv"
        started = time.perf_counter()
        history_write(path, fields=EVENT_FIELDS, rows=args.rows, customers=args.base_customers)
        print(
            f"file: {args.rows:,} lines, {path.stat().st_size / 1e6:.0f} MB, written in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        floors = [_floor(path) for _ in range(args.repeat)]
        floor = statistics.median(floors)
        print(f"floor (bare COPY into an unindexed table): {_list(floors)} -> {floor:.2f} s")

        seconds, own_seconds, peak_mb, output = _import(venue, path, args.batch_size)
        print(f"import: {output}")
        print(
            f"import: {own_seconds:.1f} s in the command ({seconds:.1f} s with the process's "
            f"start), {args.rows / own_seconds:,.0f} rows/s, {own_seconds / floor:.1f}x the floor "
            f"({seconds / floor:.1f}x), peak RSS {peak_mb:.0f} MB",
            flush=True,
        )
        recompute_seconds = _full_recompute(venue)
        print(
            f"full recompute after it: {recompute_seconds:.1f} s; profiles reflect the "
            f"import {seconds + recompute_seconds:.1f} s after it started",
            flush=True,
        )
        _, replay_seconds, replay_peak_mb, _ = _import(venue, path, args.batch_size)
        print(
            f"same file again (all duplicates): {replay_seconds:.1f} s in the command, "
            f"{args.rows / replay_seconds:,.0f} rows/s, peak RSS {replay_peak_mb:.0f} MB",
            flush=True,
        )
        batched_rows = min(args.rows, 20_000)
        sample = Path(directory) / "sample.csv"
        history_write(sample, fields=EVENT_FIELDS, rows=batched_rows, customers=args.base_customers)
        started = time.perf_counter()
        with sample.open("rb") as source:
            events_import_batched(
                venue=venue,
                reader=CsvReader(source),
                batch_size=5_000,
                on_rejected=None,
                on_batch=None,
            )
        batched_seconds = time.perf_counter() - started
        print(
            f"former path (the REST batch's validation and insert, 5,000 rows a batch) on "
            f"{batched_rows:,} lines: {batched_seconds:.1f} s, "
            f"{batched_rows / batched_seconds:,.0f} rows/s",
            flush=True,
        )
    batches = [_rest_batch(venue, args.base_customers) for _ in range(args.repeat)]
    print(
        f"REST batch of 5,000 events, facts kept current: {_list(batches)} -> "
        f"{statistics.median(batches) * 1000:.0f} ms"
    )


def _list(values: list[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


def _base_venue(customers: int, events: int, *, rebuild: bool) -> Venue:
    venue = Venue.objects.filter(name=BENCH_VENUE).first()
    if venue is not None and not rebuild:
        return venue
    print(f"loading {customers:,} customers / {events:,} events ...", flush=True)
    started = time.perf_counter()
    command = [
        sys.executable, "manage.py", "demo_data", "--customers", str(customers),
        "--events", str(events), "--venues", "1", "--no-recompute", "--seed", "7",
        "--end", HISTORY_END, "--reset", "--verbosity", "0",
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True)
    venue = Venue.objects.get(name=BENCH_VENUE)
    run = run_recompute(venue=venue, mode=RunMode.FULL)
    if run.status != RunStatus.SUCCEEDED:
        raise SystemExit(f"the base venue's full run ended {run.status}: {run.error}")
    print(f"loaded and recomputed in {time.perf_counter() - started:.0f} s", flush=True)
    return venue


def _floor(path: Path) -> float:
    """PostgreSQL alone: COPY of the file's text into a table with no index."""
    columns = ", ".join(f'"{name}" text' for name in EVENT_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} ({columns})")
    started = time.perf_counter()
    copy_sql = f"COPY {FLOOR_TABLE} FROM STDIN (FORMAT csv, HEADER)"
    with (
        connection.cursor() as cursor,
        path.open("rb") as source,
        cursor.cursor.copy(copy_sql) as copy,
    ):
        while block := source.read(1 << 20):
            copy.write(block)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {FLOOR_TABLE}")
    return seconds


def _import(venue: Venue, path: Path, batch_size: int) -> tuple[float, float, float, str]:
    """The import's wall time (the process, Django's start included) and its own (from the
    command's log line), its peak RSS in MB, and its summary line."""
    command = [
        sys.executable, "manage.py", "import_events", str(venue.pk), str(path), "--no-progress",
        "--batch-size", str(batch_size),
    ]  # fmt: skip
    with tempfile.TemporaryFile(mode="w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        # wait4 gives this child's own resource usage, not the maximum over every child so far.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        output = process.stdout.read().strip() if process.stdout else ""
        log.seek(0)
        logged = re.search(r"events_imported .*duration_s=([0-9.]+)", log.read())
    if os.waitstatus_to_exitcode(status) != 0 or logged is None:
        raise SystemExit(f"import failed:\n{output}")
    return seconds, float(logged.group(1)), usage.ru_maxrss / 1024, output.splitlines()[0]


def _full_recompute(venue: Venue) -> float:
    # A history file touches most of the venue's customers: a full run rebuilds their facts in
    # one grouped pass, where an incremental one would refresh them customer chunk by chunk.
    command = [sys.executable, "manage.py", "recompute", str(venue.pk), "--full"]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _rest_batch(venue: Venue, customers: int) -> float:
    """One REST batch of 5,000 purchases by 5,000 of the venue's customers, facts kept."""
    rng = random.Random()
    now = timezone.now() - timedelta(minutes=1)
    tag = f"rest-{time.time_ns()}"
    events = [
        ValidatedEvent(
            event_id=f"{tag}-{index}",
            customer=pseudonymize(f"bench-customer-{number}"),
            type="ticket.purchased",
            occurred_at=now,
            amount=Decimal(rng.randrange(2000, 20000)) / 100,
            quantity=rng.randint(1, 4),
            event_category=rng.choice(CATEGORIES),
        )
        for index, number in enumerate(rng.sample(range(customers), 5_000))
    ]
    started = time.perf_counter()
    ingest_events(venue=venue, events=events)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
