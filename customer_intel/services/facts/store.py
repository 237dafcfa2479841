"""Storing and reading facts rows: refresh some customers, rebuild a venue, read them back.

One strategy on every database: a refresh upserts the customers' fresh rows and deletes the
rows of those left without events; a rebuild deletes the venue's rows and inserts them anew.
On PostgreSQL the database writes the rows it aggregates itself (`_writes_server_side`), so a
rebuild never carries the venue's facts through Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.db.expressions import TextIn
from customer_intel.db.statistics import tables_analyze
from customer_intel.models import CustomerFacts, PendingCustomer, Venue
from customer_intel.services.facts.aggregate import (
    FACT_FIELDS,
    STORED_FIELDS,
    AggregatedFacts,
    aggregated_from_stored,
    events_of,
    facts_aggregate,
    server_side_select,
)

_FACTS = CustomerFacts._meta.db_table
_STORED_COLUMNS = ", ".join(STORED_FIELDS)
# Rows per INSERT of the portable writes.
_WRITE_BATCH = 500


def _writes_server_side() -> bool:
    """Whether the database writes the facts it aggregates, without sending them to Python.

    One of the two places where a service asks which database it is on (the other is
    `ingestion.ingests_server_side`). On PostgreSQL `INSERT … SELECT` stores the aggregate
    where it is computed instead of fetching every row into Python and sending it back: 5.3
    times faster for 100,000 customers' facts (bench/bench_facts.py). Elsewhere (the embedded
    SQLite default, small by design) the rows go through Python.
    """
    return connection.vendor == "postgresql"


def facts_refresh(*, venue: Venue, customers: Sequence[str]) -> tuple[list[CustomerFactsRow], int]:
    """Recompute and store the facts of `customers` from all their events.

    Returns the fresh rows (ordered by customer) and the number of events read. A customer
    with no event keeps no facts row.
    """
    if not customers:
        return [], 0
    events = events_of(venue=venue, customers=customers)
    if _writes_server_side():
        fresh = _upsert_server_side(venue=venue, events=events)
    else:
        fresh = list(facts_aggregate(events, tz=ZoneInfo(venue.timezone)))
        _store(venue=venue, facts=fresh, replace=True)
    if len(fresh) < len(customers):
        found = {facts.row.customer for facts in fresh}
        missing = [customer for customer in customers if customer not in found]
        CustomerFacts.objects.filter(TextIn("customer", missing), venue=venue).delete()
    return [facts.row for facts in fresh], sum(facts.events for facts in fresh)


def facts_for_customers(
    *, venue: Venue, customers: Sequence[str], cutoff: datetime | None
) -> tuple[list[CustomerFactsRow], int]:
    """The facts of `customers` over their events at or before `cutoff`, not stored.

    Used for a reproducible run in the past and for the on-demand single customer. Customers
    without an event at or before `cutoff` are absent from the result.
    """
    if not customers:
        return [], 0
    events = events_of(venue=venue, customers=customers, cutoff=cutoff)
    found = list(facts_aggregate(events, tz=ZoneInfo(venue.timezone)))
    return [facts.row for facts in found], sum(facts.events for facts in found)


def facts_rebuild(*, venue: Venue) -> int:
    """Rebuild every facts row of the venue from its whole event log in one grouped pass.

    For bulk loads that bypass ingestion and for a change of the venue's time zone (hour
    buckets and purchase days are local). Pending marks are left for the next run: they say
    the *profile* is stale, which a facts rebuild does not fix. Returns the events read.
    """
    CustomerFacts.objects.filter(venue=venue).delete()
    events = events_of(venue=venue)
    if _writes_server_side():
        return _rebuild_server_side(venue=venue, events=events)
    read = 0
    for batch in _batches(facts_aggregate(events, tz=ZoneInfo(venue.timezone))):
        _store(venue=venue, facts=batch, replace=False)
        read += sum(facts.events for facts in batch)
    return read


def facts_rebuild_if_time_zone_changed(*, venue: Venue) -> int | None:
    """Rebuild the venue's facts when they were aggregated in another time zone than the
    venue's (its time zone was changed since): local hours and purchase days move.

    Returns the events read, or None when the facts were already in the venue's time zone.
    The venue's pending marks are marked current first (the rebuild reads every committed
    event; an ingestion still in flight merges its own events afterwards), taking marks before
    facts as ingestion does.
    """
    if venue.facts_timezone == venue.timezone:
        return None
    PendingCustomer.objects.filter(venue=venue).update(facts_current=True)
    events = facts_rebuild(venue=venue)
    Venue.objects.filter(pk=venue.pk).update(facts_timezone=venue.timezone)
    venue.facts_timezone = venue.timezone
    return events


def facts_iter_chunks(*, venue: Venue, chunk_size: int) -> Iterator[list[CustomerFactsRow]]:
    """Every facts row of the venue in customer order, `chunk_size` rows at a time.

    A key-range walk on the (venue, customer) unique index: memory stays bounded and each
    chunk is one indexed range read, however large the venue.
    """
    after = ""
    while True:
        rows = [
            CustomerFactsRow(*values)
            for values in CustomerFacts.objects.filter(venue=venue, customer__gt=after)
            .order_by("customer")
            .values_list(*FACT_FIELDS)[:chunk_size]
        ]
        if not rows:
            return
        yield rows
        after = rows[-1].customer


def facts_read(*, venue: Venue, customers: Sequence[str]) -> list[CustomerFactsRow]:
    """The stored facts rows of these customers, in customer order."""
    if not customers:
        return []
    return [
        CustomerFactsRow(*values)
        for values in CustomerFacts.objects.filter(TextIn("customer", customers), venue=venue)
        .order_by("customer")
        .values_list(*FACT_FIELDS)
    ]


def facts_count(*, venue: Venue) -> int:
    """How many facts rows the venue has (one per customer with events)."""
    return CustomerFacts.objects.filter(venue=venue).count()


# --- writes through Python (any database) ----------------------------------------------------


def _batches(facts: Iterable[AggregatedFacts]) -> Iterator[list[AggregatedFacts]]:
    batch: list[AggregatedFacts] = []
    for item in facts:
        batch.append(item)
        if len(batch) == _WRITE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _store(*, venue: Venue, facts: Sequence[AggregatedFacts], replace: bool) -> None:
    now = timezone.now()
    rows = [
        CustomerFacts(
            venue=venue,
            refreshed_at=now,
            purchase_day_numbers=item.purchase_day_numbers,
            paid_day_numbers=item.paid_day_numbers,
            **{name: getattr(item.row, name) for name in FACT_FIELDS},
        )
        for item in facts
    ]
    options: dict[str, Any] = {}
    if replace:
        options = {
            "update_conflicts": True,
            "unique_fields": ["venue", "customer"],
            "update_fields": [*STORED_FIELDS[1:], "refreshed_at"],
        }
    CustomerFacts.objects.bulk_create(rows, batch_size=_WRITE_BATCH, **options)


# --- writes by the database (PostgreSQL) ------------------------------------------------------

_UPSERT_UPDATES = ", ".join(f"{name} = EXCLUDED.{name}" for name in STORED_FIELDS[1:])


def _upsert_server_side(*, venue: Venue, events: Any) -> list[AggregatedFacts]:
    """Aggregate `events`, upsert the rows and hand them back, in one statement.

    No planner setting is pinned: tables filled in bulk are analyzed by whatever filled them
    (`db.statistics.tables_analyze`), and with statistics the planner walks a chunk's customers
    through the (venue, customer, time) index by itself.
    """
    select_sql, select_params = server_side_select(events, tz=ZoneInfo(venue.timezone))
    sql = f"""
    WITH agg AS ({select_sql}),
    stored AS (
        INSERT INTO {_FACTS} (venue_id, {_STORED_COLUMNS}, refreshed_at)
        SELECT %s, {_STORED_COLUMNS}, %s FROM agg ORDER BY customer
        ON CONFLICT (venue_id, customer) DO UPDATE SET {_UPSERT_UPDATES},
            refreshed_at = EXCLUDED.refreshed_at
    )
    SELECT * FROM agg ORDER BY customer
    """  # noqa: S608 - identifiers come from the models; every value is a bound parameter
    params = (*select_params, venue.pk, timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [aggregated_from_stored(values) for values in rows]


def _rebuild_server_side(*, venue: Venue, events: Any) -> int:
    select_sql, select_params = server_side_select(events, tz=ZoneInfo(venue.timezone))
    sql = f"""
    WITH agg AS ({select_sql}),
    stored AS (
        INSERT INTO {_FACTS} (venue_id, {_STORED_COLUMNS}, refreshed_at)
        SELECT %s, {_STORED_COLUMNS}, %s FROM agg ORDER BY customer
    )
    SELECT coalesce(sum(event_count), 0) FROM agg
    """  # noqa: S608 - identifiers come from the models; every value is a bound parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, (*select_params, venue.pk, timezone.now()))
        read = int(cursor.fetchone()[0])
    # Fresh statistics: with the old ones (a small table) the planner walks the next full
    # run's chunks with a bitmap scan and a sort of the whole venue per chunk (measured:
    # 1.2 s a chunk instead of 0.1 s at a million customers).
    tables_analyze(tables=[CustomerFacts])
    return read
