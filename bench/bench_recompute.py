"""Benchmark of the recompute engine on PostgreSQL at a million customers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench \\
        .venv/bin/python bench/bench_recompute.py [--customers 1000000] [--events 9000000] \\
        [--repeat 3] [--singles 50]

Loads "Bench Arena" (plus two small venues) with `manage.py demo_data` the first time, then
prints, in one run:

- the floor: the bare `GROUP BY customer` scan of the venue's purchases that any recompute
  reading the event log pays (run server-side, nothing fetched);
- `rebuild_facts`: every customer's facts from the event log in one grouped pass;
- the full run's wall time and its ratio to the floor;
- an incremental run after 1% of the customers got a new purchase, and its share of a full run;
- the on-demand single customer (median and p95 of --singles customers, stored);
- this process's peak RSS (ru_maxrss): the engine runs in it, as in a worker.

Figures depend on the machine and on what else runs on it: quote medians over repeats.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
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

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from customer_intel.models import (  # noqa: E402
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    EventType,
    PendingCustomer,
    RunMode,
    RunStatus,
    Venue,
)
from customer_intel.services.event_validation import ValidatedEvent  # noqa: E402
from customer_intel.services.ingestion import ingest_events  # noqa: E402
from customer_intel.services.recompute import (  # noqa: E402
    compute_single_customer,
    rebuild_facts,
    run_recompute,
)

FLOOR_SQL = f"""
SELECT count(*) FROM (
    SELECT customer, min(occurred_at), max(occurred_at), count(*), sum(amount)
    FROM {CustomerEvent._meta.db_table}
    WHERE venue_id = %s AND type = 'ticket.purchased'
    GROUP BY customer
) per_customer
"""


class _PhaseLog(logging.Handler):
    """Keeps the per-phase seconds of each finished run from the engine's log line."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.runs: list[dict[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("recompute_succeeded") and "phases=" in message:
            text = message.rsplit("phases=", 1)[1]
            self.runs.append(
                {name: float(value) for name, value in (p.split(":") for p in text.split(","))}
            )


PHASES = _PhaseLog()
logging.getLogger("customer_intel.services.recompute").addHandler(PHASES)


def _phases_text(runs: list[dict[str, float]]) -> str:
    names = list(dict.fromkeys(name for run in runs for name in run))
    return ", ".join(
        f"{name} {statistics.median(run.get(name, 0.0) for run in runs):.2f}" for name in names
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _load(customers: int, events: int, generator: str) -> Venue:
    venue = Venue.objects.filter(name=BENCH_VENUE).first()
    if venue is not None and CustomerEvent.objects.filter(venue=venue).exists():
        return venue
    print(f"loading {customers:,} customers / {events:,} events ({generator}) ...", flush=True)
    started = time.perf_counter()
    if generator == "sql":
        venue = _generate_sql(customers, events)
    else:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "demo_data",
                "--customers",
                str(customers),
                "--events",
                str(events),
                "--venues",
                "3",
                "--no-recompute",
                "--seed",
                "7",
            ],
            cwd=ROOT,
            check=True,
        )
        venue = Venue.objects.get(name=BENCH_VENUE)
    print(f"loaded in {time.perf_counter() - started:.0f}s", flush=True)
    return venue


_GENERATE_SQL = f"""
INSERT INTO {CustomerEvent._meta.db_table}
    (venue_id, event_id, customer, type, occurred_at, amount, quantity, event_category,
     channel, campaign, properties, received_at)
SELECT %(venue)s, 'gen-' || i, encode(sha256(convert_to(%(prefix)s || c, 'UTF8')), 'hex'),
       t, at, CASE WHEN t IN ('ticket.purchased', 'ticket.refunded')
                   THEN round((10 + random() * 190)::numeric, 2) END,
       1 + floor(random() * 4)::int,
       (ARRAY['concert', 'comedy', 'theatre', 'sports', 'family', 'festival'])
           [1 + floor(random() * 6)::int],
       '', '', '{{}}'::jsonb, now()
FROM (
    SELECT i, floor(random() * %(customers)s)::int AS c,
           CASE WHEN r < 0.93 THEN 'ticket.purchased' WHEN r < 0.95 THEN 'ticket.refunded'
                WHEN r < 0.97 THEN 'ticket.scanned' ELSE 'page.viewed' END AS t,
           now() - random() * interval '3 years' AS at
    FROM (SELECT i, random() AS r FROM generate_series(1, %(events)s) AS i) numbered
) drawn
ORDER BY c
"""


def _generate_sql(customers: int, events: int) -> Venue:
    """The benchmark's event log drawn inside PostgreSQL: minutes where a client-side load
    takes tens of minutes on a busy machine. About nine events per customer, 93% purchases,
    over three years; two small venues beside the big one."""
    venue = Venue.objects.create(name=BENCH_VENUE, timezone="America/New_York")
    plan = [(venue, customers, events)]
    for index in (1, 2):
        small = Venue.objects.create(name=f"{BENCH_VENUE} annex {index}", timezone="UTC")
        plan.append((small, max(1, customers // 100), max(1, events // 100)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.7)")
        for target, target_customers, target_events in plan:
            cursor.execute(
                _GENERATE_SQL,
                {
                    "venue": target.pk,
                    "prefix": f"{target.pk}-",
                    "customers": target_customers,
                    "events": target_events,
                },
            )
            cursor.execute(
                f"INSERT INTO {PendingCustomer._meta.db_table} (venue_id, customer, marked_at) "
                f"SELECT DISTINCT venue_id, customer, now() FROM {CustomerEvent._meta.db_table} "
                "WHERE venue_id = %s",
                [target.pk],
            )
        cursor.execute(f"ANALYZE {CustomerEvent._meta.db_table}")
    return venue


def _ensure_facts(venue: Venue) -> None:
    """After a bulk load every customer is pending; one grouped pass builds their facts."""
    customers = CustomerFacts.objects.filter(venue=venue).count()
    if customers and not PendingCustomer.objects.filter(venue=venue).exists():
        return
    seconds, events = _timed(lambda: rebuild_facts(venue=venue))
    # The full runs below compute every profile; the marks of the load are served by them.
    PendingCustomer.objects.filter(venue=venue).delete()
    print(f"initial rebuild_facts: {seconds:.1f}s over {events:,} events", flush=True)


def _floor(venue: Venue) -> float:
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(FLOOR_SQL, [venue.pk])
        cursor.fetchone()
        return time.perf_counter() - started


def _full(venue: Venue) -> float:
    seconds, run = _timed(lambda: run_recompute(venue=venue, mode=RunMode.FULL))
    if run.status != RunStatus.SUCCEEDED:  # type: ignore[attr-defined]
        raise SystemExit(f"full run ended {run.status}: {run.error}")  # type: ignore[attr-defined]
    return seconds


def _touch_customers(venue: Venue, share: float, rng: random.Random) -> int:
    """Give `share` of the venue's customers one new purchase each (through ingestion)."""
    total = CustomerFacts.objects.filter(venue=venue).count()
    wanted = max(1, int(total * share))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer FROM {CustomerFacts._meta.db_table} "
            "TABLESAMPLE SYSTEM (%s) WHERE venue_id = %s LIMIT %s",
            [min(100.0, share * 300), venue.pk, wanted],
        )
        customers = [row[0] for row in cursor.fetchall()]
    now = timezone.now() - timedelta(minutes=1)
    tag = f"bench-{time.time_ns()}"
    events = [
        ValidatedEvent(
            event_id=f"{tag}-{index}",
            customer=customer,
            type=EventType.TICKET_PURCHASED,
            occurred_at=now,
            amount=Decimal(rng.randrange(2000, 20000)) / 100,
            quantity=rng.randint(1, 4),
            event_category=rng.choice(["concert", "comedy", "theatre"]),
        )
        for index, customer in enumerate(customers)
    ]
    for start in range(0, len(events), 5000):
        batch = events[start : start + 5000]
        seconds, _result = _timed(lambda batch=batch: ingest_events(venue=venue, events=batch))
        INGEST_BATCHES.append((len(batch), seconds))
    return len(customers)


# (events, seconds) of every ingestion batch the benchmark sent: ingestion now also folds the
# events into their customers' facts, so its cost belongs next to the runs it saves.
INGEST_BATCHES: list[tuple[int, float]] = []


def _vacuum_if_autovacuum_is_off() -> bool:
    """VACUUM the tables a run churns when the server's autovacuum is off, as it would have.

    A full run deletes and rewrites a venue's profiles; without vacuum each repeat would
    write into a table bloated by the previous ones, which no production server sees.
    """
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            return False
        for model in (CustomerProfile, CustomerFacts, PendingCustomer):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
    return True


def _incremental(venue: Venue) -> tuple[float, int]:
    seconds, run = _timed(lambda: run_recompute(venue=venue, mode=RunMode.INCREMENTAL))
    if run.status != RunStatus.SUCCEEDED:  # type: ignore[attr-defined]
        raise SystemExit(f"incremental run ended {run.status}: {run.error}")  # type: ignore[attr-defined]
    return seconds, run.customers_processed  # type: ignore[attr-defined]


def _singles(venue: Venue, count: int) -> list[float]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer FROM {CustomerFacts._meta.db_table} "
            "TABLESAMPLE SYSTEM (1) WHERE venue_id = %s LIMIT %s",
            [venue.pk, count],
        )
        customers = [row[0] for row in cursor.fetchall()]
    timings = []
    for customer in customers:
        seconds, profile = _timed(
            lambda customer=customer: compute_single_customer(venue=venue, customer=customer)
        )
        if profile is None or profile.pk is None:  # type: ignore[attr-defined]
            raise SystemExit("an on-demand profile was not stored")
        timings.append(seconds)
    return timings


def _write_floor(venue: Venue) -> tuple[float, float, int]:
    """What writing the venue's profiles costs PostgreSQL alone, with no Python in the loop:
    seconds to copy them into a table with no index, seconds to build the profile table's
    indexes on that copy afterwards, and how many indexes. Rolled back."""
    table = CustomerProfile._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s",
            [table],
        )
        definitions = [row[0] for row in cursor.fetchall()]
        started = time.perf_counter()
        cursor.execute(
            f"CREATE TABLE bench_profile_copy AS SELECT * FROM {table} "
            "WHERE venue_id = %s ORDER BY customer",
            [venue.pk],
        )
        copied = time.perf_counter() - started
        started = time.perf_counter()
        for number, definition in enumerate(definitions):
            columns = definition[definition.index(" USING ") :]
            unique = "UNIQUE " if definition.startswith("CREATE UNIQUE") else ""
            cursor.execute(
                f"CREATE {unique}INDEX bench_index_{number} ON bench_profile_copy{columns}"
            )
        indexed = time.perf_counter() - started
        transaction.set_rollback(True)
    return copied, indexed, len(definitions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=9_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="Runs per timed step.")
    parser.add_argument("--rebuild-repeat", type=int, default=1, help="rebuild_facts runs.")
    parser.add_argument("--singles", type=int, default=50)
    parser.add_argument("--share", type=float, default=0.01, help="Customers touched.")
    parser.add_argument(
        "--generator",
        choices=["demo_data", "sql"],
        default="demo_data",
        help="How to load the venue when it is missing: manage.py demo_data (realistic "
        "behaviour) or drawn in SQL (uniform, much faster).",
    )
    args = parser.parse_args()
    rng = random.Random(7)

    venue = _load(args.customers, args.events, args.generator)
    _ensure_facts(venue)
    customers = CustomerFacts.objects.filter(venue=venue).count()
    events = CustomerEvent.objects.filter(venue=venue).count()
    print(f"venue {venue.pk}: {customers:,} customers, {events:,} events", flush=True)
    baseline_rss = _peak_rss_mb()

    floors = [_floor(venue) for _ in range(args.repeat)]
    print(f"floor GROUP BY scan: {', '.join(f'{s:.2f}' for s in floors)} s", flush=True)
    rebuilds = [_timed(lambda: rebuild_facts(venue=venue))[0] for _ in range(args.rebuild_repeat)]
    print(f"rebuild_facts:       {', '.join(f'{s:.2f}' for s in rebuilds)} s", flush=True)
    first_full = len(PHASES.runs)
    fulls = []
    for _ in range(args.repeat):
        if _vacuum_if_autovacuum_is_off():
            print("autovacuum is off on this server: vacuumed the churned tables", flush=True)
        fulls.append(_full(venue))
    full_phases = PHASES.runs[first_full:]
    print(f"full run:            {', '.join(f'{s:.2f}' for s in fulls)} s", flush=True)
    write_floor = _write_floor(venue)
    print(
        f"write floor:         {write_floor[0]:.2f} s copy, {write_floor[1]:.2f} s "
        f"for {write_floor[2]} indexes",
        flush=True,
    )
    first_incremental = len(PHASES.runs)
    incrementals = []
    for _ in range(args.repeat):
        touched = _touch_customers(venue, args.share, rng)
        seconds, processed = _incremental(venue)
        incrementals.append(seconds)
        print(f"incremental run:     {seconds:.2f} s ({touched:,} touched, {processed:,} computed)")
    incremental_phases = PHASES.runs[first_incremental:]
    singles = _singles(venue, args.singles)

    floor = statistics.median(floors)
    full = statistics.median(fulls)
    incremental = statistics.median(incrementals)
    single_ms = statistics.median(singles) * 1000
    single_p95_ms = sorted(singles)[int(0.95 * (len(singles) - 1))] * 1000
    peak = _peak_rss_mb()
    print()
    print(f"customers / events           {customers:,} / {events:,}")
    print(f"floor (GROUP BY scan)        {floor:.2f} s (median of {args.repeat})")
    if rebuilds:
        print(f"rebuild_facts                {statistics.median(rebuilds):.2f} s")
    print(f"full run                     {full:.2f} s = {full / floor:.2f}x floor (target <= 1.5x)")
    print(f"  phases (s, median)         {_phases_text(full_phases)}")
    print(
        f"  writing the profiles alone {write_floor[0]:.2f} s into a table without index "
        f"({write_floor[0] / floor:.2f}x floor) + {write_floor[1]:.2f} s to build its "
        f"{write_floor[2]} indexes: ({sum(write_floor[:2]) / floor:.2f}x floor with no Python)"
    )
    print(
        f"incremental ({args.share:.0%} customers)    {incremental:.2f} s = "
        f"{incremental / full:.1%} of full (target <= 5%)"
    )
    print(f"  phases (s, median)         {_phases_text(incremental_phases)}")
    batch_ms = statistics.median(seconds for _n, seconds in INGEST_BATCHES) * 1000
    batch_events = statistics.median(n for n, _seconds in INGEST_BATCHES)
    print(
        f"ingestion batch              {batch_ms:.0f} ms median for {batch_events:,.0f} events "
        "(facts kept current in the same transaction)"
    )
    print(f"single customer              {single_ms:.1f} ms median, {single_p95_ms:.1f} ms p95")
    print(f"peak RSS                     {peak:.0f} MB (after setup {baseline_rss:.0f} MB)")


if __name__ == "__main__":
    main()
