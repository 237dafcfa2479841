"""Benchmark of erasure and of the retention purge on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench_privacy \\
        .venv/bin/python bench/bench_privacy.py [--events 1000000] [--customers 100000] \\
        [--erase-events 10000] [--repeat 5] [--batch-size 5000]

Loads a venue of --events events of --customers customers spread over two years (with facts
and profiles from a full run), then prints, in one run:

- erasure of one customer holding --erase-events events (facts and profile too), median of
  --repeat; the floor is the bare DELETE of those events alone, in the same run;
- the retention purge of the events older than a year (about half the venue): events/s, the
  batches, and the longest batch, which is the longest any lock is held (each batch is its own
  transaction); the floor is one DELETE of every expired event in a single transaction (rolled
  back), which would hold its locks for its whole duration;
- while the purge runs, one-event ingestion batches for the customers being purged (their
  pending marks are what a batch locks): their worst latency is what a client waits;
- the run the purge queues to rebuild the facts and profiles of the customers concerned.

Figures depend on the machine and on what else runs on it: quote medians over repeats.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import logging
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/customer_intel_bench_privacy"

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("CUSTOMER_ID_HMAC_KEY", "bench-only-not-secret")  # synthetic ids only
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.pop("CELERY_BROKER_URL", None)  # nothing is queued: runs are called here
sys.path.insert(0, str(ROOT))

from bench.databases import database_ensure  # noqa: E402

database_ensure(os.environ["DATABASE_URL"])

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import Count, Max, Min, Q  # noqa: E402
from django.utils import timezone  # noqa: E402

from customer_intel.models import (  # noqa: E402
    CustomerEvent,
    CustomerProfile,
    EventType,
    RunMode,
    Venue,
)
from customer_intel.privacy import pseudonymize  # noqa: E402
from customer_intel.services import facts as facts_service  # noqa: E402
from customer_intel.services.audit import Actor  # noqa: E402
from customer_intel.services.erasure import customer_erase  # noqa: E402
from customer_intel.services.event_validation import ValidatedEvent  # noqa: E402
from customer_intel.services.ingestion import ingest_events  # noqa: E402
from customer_intel.services.recompute import (  # noqa: E402
    compute_single_customer,
    rebuild_facts,
    run_recompute,
)
from customer_intel.services.retention import (  # noqa: E402
    events_purge_expired,
    recompute_mode,
)

# The recompute's own summary line (with its phases) for the runs.
logging.getLogger("customer_intel.services.recompute").setLevel(logging.INFO)

BENCH_VENUE = "Privacy Bench"
RETENTION_DAYS = 365
HISTORY_DAYS = 730
_EVENTS = CustomerEvent._meta.db_table


def _events_sql(customer: str) -> str:
    """INSERT of synthetic purchases `g` of generate_series(first, last), spread evenly over
    `days` days before `now` (each customer's too: 7 and 730 are coprime), for the customer
    the SQL expression `customer` names."""
    return f"""
    INSERT INTO {_EVENTS} (venue_id, event_id, customer, type, occurred_at, amount, quantity,
                           event_category, channel, campaign, properties, received_at)
    SELECT %(venue)s, %(prefix)s || g, {customer}, 'ticket.purchased',
           %(now)s - (g * 7 %% %(days)s) * interval '1 day' - (g %% 1440) * interval '1 minute',
           10 + g %% 90, 1, 'concert', 'web', '', '{{}}', %(now)s
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
    """


# Customer `g % customers` as a 64-hex pseudonym (the same as _synthetic_pseudonym).
_MANY_CUSTOMERS = "md5((g %% %(customers)s)::text) || md5('x' || (g %% %(customers)s))"


def _synthetic_pseudonym(index: int) -> str:
    first = hashlib.md5(str(index).encode()).hexdigest()  # noqa: S324 - synthetic ids
    return first + hashlib.md5(f"x{index}".encode()).hexdigest()  # noqa: S324


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _rolled_back(sql: str, params: list[object]) -> float:
    """Seconds of `sql` inside a transaction that is then rolled back."""

    class Rollback(Exception):
        pass

    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        return elapsed


def _load(events: int, customers: int) -> Venue:
    Venue.objects.filter(name=BENCH_VENUE).delete()
    venue = Venue.objects.create(name=BENCH_VENUE)
    now = timezone.now()
    step = 250_000
    started = time.perf_counter()
    for first in range(1, events + 1, step):
        with connection.cursor() as cursor:
            cursor.execute(
                _events_sql(_MANY_CUSTOMERS),
                {
                    "venue": venue.pk,
                    "prefix": "bench-",
                    "customers": customers,
                    "now": now,
                    "days": HISTORY_DAYS,
                    "first": first,
                    "last": min(first + step - 1, events),
                },
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_EVENTS}")
    rebuild_facts(venue=venue)
    run_recompute(venue=venue, mode=RunMode.FULL)
    print(
        f"loaded {events:,} events of {customers:,} customers, facts and profiles in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return venue


def _give_history(venue: Venue, raw_id: str, count: int, *, profile: bool = True) -> str:
    """`count` recent events of `raw_id`, with their facts and stored profile if `profile`."""
    customer = pseudonymize(raw_id)
    with connection.cursor() as cursor:
        cursor.execute(
            _events_sql("%(customer)s"),
            {
                "venue": venue.pk,
                "prefix": f"{raw_id}-",
                "customer": customer,
                "now": timezone.now(),
                "days": 300,
                "first": 1,
                "last": count,
            },
        )
    if profile:
        facts_service.facts_refresh(venue=venue, customers=[customer])
        compute_single_customer(venue=venue, customer=customer)
    return customer


def bench_erasure(venue: Venue, *, erase_events: int, repeat: int) -> None:
    floors, erasures = [], []
    for n in range(repeat):
        # The floor: the same number of events of another customer, deleted alone and committed.
        bare = _give_history(venue, f"bare-{n}", erase_events, profile=False)
        customer = _give_history(venue, f"erasee-{n}", erase_events)
        floors.append(_timed(lambda bare=bare: _delete_committed(venue, bare))[0])
        seconds, result = _timed(
            lambda customer=customer: customer_erase(
                venue=venue, customer=customer, actor=Actor.command_user()
            )
        )
        assert result.events == erase_events and result.profiles == 1, result
        erasures.append(seconds)
    floor, erasure = statistics.median(floors), statistics.median(erasures)
    print(
        f"erasure of one customer with {erase_events:,} events: median {erasure * 1000:.1f} ms "
        f"(min {min(erasures) * 1000:.1f}) over {repeat}; floor (a bare, committed DELETE of "
        f"as many events) "
        f"{floor * 1000:.1f} ms; ratio {erasure / floor:.2f}"
    )


def _delete_committed(venue: Venue, customer: str) -> None:
    with connection.cursor() as cursor:  # autocommit: the statement commits on its own
        cursor.execute(
            f"DELETE FROM {_EVENTS} WHERE venue_id = %s AND customer = %s",
            [venue.pk, customer],
        )


class _IngestionProbe(threading.Thread):
    """One-event batches for customers the purge is marking, back to back, timed."""

    def __init__(self, venue: Venue, customers: int) -> None:
        super().__init__(daemon=True)
        self.venue, self.customers = venue, customers
        self.stop = threading.Event()
        self.latencies: list[float] = []

    def run(self) -> None:
        try:
            n = 0
            while not self.stop.is_set():
                n += 1
                customer = random.randrange(self.customers)
                event = ValidatedEvent(
                    event_id=f"probe-{n}",
                    customer=_synthetic_pseudonym(customer),
                    type=EventType.TICKET_PURCHASED,
                    occurred_at=timezone.now() - timedelta(minutes=1),
                    amount=Decimal("10.00"),
                    quantity=1,
                )
                seconds, _ = _timed(lambda e=event: ingest_events(venue=self.venue, events=[e]))
                self.latencies.append(seconds)
                time.sleep(0.02)
        finally:
            connections.close_all()


def bench_retention(venue: Venue, *, customers: int, batch_size: int) -> None:
    venue.event_retention_days = RETENTION_DAYS
    venue.save(update_fields=["event_retention_days"])
    now = timezone.now()
    cutoff = now - timedelta(days=RETENTION_DAYS)
    total = CustomerEvent.objects.filter(venue=venue).count()
    expired = CustomerEvent.objects.filter(venue=venue, occurred_at__lt=cutoff).count()
    floor = _rolled_back(
        f"DELETE FROM {_EVENTS} WHERE venue_id = %s AND occurred_at < %s",
        [venue.pk, cutoff],
    )
    probe = _IngestionProbe(venue, customers)
    probe.start()
    batch_ends = [time.perf_counter()]
    try:
        seconds, result = _timed(
            lambda: events_purge_expired(
                venue=venue,
                actor=Actor.command_user(),
                now=now,
                batch_size=batch_size,
                recompute=False,
                on_batch=lambda _deleted: batch_ends.append(time.perf_counter()),
            )
        )
    finally:
        probe.stop.set()
        probe.join(timeout=30)
    assert result is not None and result.events == expired, (result, expired)
    batch_seconds = [later - earlier for earlier, later in itertools.pairwise(batch_ends)]
    median_batch = statistics.median(batch_seconds) if batch_seconds else seconds
    print(
        f"retention purge of {result.events:,} of {total:,} events in {result.batches} batches "
        f"of {batch_size:,}: {seconds:.1f} s, {result.events / seconds:,.0f} events/s; longest "
        f"batch (longest lock held) {result.longest_batch_seconds * 1000:.0f} ms, median "
        f"{median_batch * 1000:.0f} ms"
    )
    print(
        f"  floor: one DELETE of every expired event in one transaction (rolled back) "
        f"{floor:.1f} s = {expired / floor:,.0f} events/s, holding its locks {floor:.1f} s; "
        f"purge / floor {seconds / floor:.2f}"
    )
    if probe.latencies:
        print(
            f"  one-event ingestion batches during the purge: {len(probe.latencies)}, median "
            f"{statistics.median(probe.latencies) * 1000:.0f} ms, worst "
            f"{max(probe.latencies) * 1000:.0f} ms"
        )
    mode = recompute_mode(venue=venue)  # what the purge queues
    run_seconds, run = _timed(lambda: run_recompute(venue=venue, mode=mode))
    print(
        f"  the {mode} run it queues: {run.customers_processed:,} customers, "
        f"{run.events_processed:,} events read, {run_seconds:.1f} s ({run.status})"
    )
    profiles, differing = _profiles_against_events(venue)
    print(
        f"  profiles against the remaining events: {profiles:,} profiles, {differing} differ "
        "(purchases, first and last seen, or a profile without events or events without one)"
    )
    assert differing == 0


def _profiles_against_events(venue: Venue) -> tuple[int, int]:
    """Each stored profile's purchases and first/last seen against an aggregate of the events
    the purge left: the run must leave no profile stale, missing or without events."""
    remaining = {
        row["customer"]: (row["purchases"], row["first"], row["last"])
        for row in CustomerEvent.objects.filter(venue=venue)
        .values("customer")
        .annotate(
            purchases=Count("id", filter=Q(type=EventType.TICKET_PURCHASED)),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
        )
    }
    profiles = {
        customer: rest
        for customer, *rest in CustomerProfile.objects.filter(venue=venue).values_list(
            "customer", "total_purchases", "first_seen", "last_seen"
        )
    }
    unmatched = remaining.keys() ^ profiles.keys()
    stale = [c for c in remaining.keys() & profiles.keys() if remaining[c] != tuple(profiles[c])]
    return len(profiles), len(unmatched) + len(stale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--erase-events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    venue = _load(args.events, args.customers)
    bench_erasure(venue, erase_events=args.erase_events, repeat=args.repeat)
    bench_retention(venue, customers=args.customers, batch_size=args.batch_size)


if __name__ == "__main__":
    main()
