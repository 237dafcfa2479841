"""Per-customer facts: the event log aggregated into one `CustomerFacts` row per customer.

The aggregation runs in the database — one grouped query per chunk of customers, never one
query per customer. On PostgreSQL it is hand-written SQL that writes the facts with
`INSERT … SELECT` and hands the rows back in the same statement; elsewhere (the embedded SQLite
default) the ORM computes the same values. Both must agree with the reference aggregator
`customer_intel.analytics.events.facts_from_events`.

Money is summed in integer cents and local hours and dates are taken in the venue's time zone
(DST included) inside the database, so Python only ever sees plain integers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count, IntegerField, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractHour, TruncDate
from django.utils import timezone

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.rules import AFTERNOON_BEFORE_HOUR, MORNING_BEFORE_HOUR
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    EventType,
    PendingCustomer,
    Venue,
)
from customer_intel.services.server_bound import execute_server_bound

FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CustomerFactsRow))

_EVENTS = CustomerEvent._meta.db_table
_FACTS = CustomerFacts._meta.db_table
_PENDING = PendingCustomer._meta.db_table
_PURCHASE = f"e.type = '{EventType.TICKET_PURCHASED.value}'"
_REFUND = f"e.type = '{EventType.TICKET_REFUNDED.value}'"
_LOCAL = "(e.occurred_at AT TIME ZONE %(tz)s)"

# One SQL expression per CustomerFactsRow field except customer and category_counts.
_AGGREGATES: dict[str, str] = {
    "first_seen": "min(e.occurred_at)",
    "last_seen": "max(e.occurred_at)",
    "purchase_count": f"count(*) FILTER (WHERE {_PURCHASE})",
    # amount has two decimals, so amount * 100 is an exact integer.
    "purchase_cents": (
        f"coalesce(sum((e.amount * 100)::bigint) FILTER (WHERE {_PURCHASE}), 0)::bigint"
    ),
    "purchase_quantity": f"coalesce(sum(e.quantity) FILTER (WHERE {_PURCHASE}), 0)",
    "refund_count": f"count(*) FILTER (WHERE {_REFUND})",
    "refund_cents": (
        f"coalesce(sum((e.amount * 100)::bigint) FILTER (WHERE {_REFUND}), 0)::bigint"
    ),
    "refund_quantity": f"coalesce(sum(e.quantity) FILTER (WHERE {_REFUND}), 0)",
    "first_purchase_at": f"min(e.occurred_at) FILTER (WHERE {_PURCHASE})",
    "last_purchase_at": f"max(e.occurred_at) FILTER (WHERE {_PURCHASE})",
    # The length of purchase_day_numbers, taken from the array once it is built.
    "purchase_days": "jsonb_array_length(a.purchase_day_numbers)",
    # From the per-day sums (`d`, see _aggregate_select).
    "first_day_purchase_cents": "coalesce(d.first_day_purchase_cents, 0)",
    "paid_purchase_days": "coalesce(jsonb_array_length(d.paid_day_numbers), 0)",
    "morning_purchases": (
        f"count(*) FILTER (WHERE {_PURCHASE} AND extract(hour FROM {_LOCAL}) "
        f"< {MORNING_BEFORE_HOUR})"
    ),
    "afternoon_purchases": (
        f"count(*) FILTER (WHERE {_PURCHASE} AND extract(hour FROM {_LOCAL}) "
        f">= {MORNING_BEFORE_HOUR} AND extract(hour FROM {_LOCAL}) < {AFTERNOON_BEFORE_HOUR})"
    ),
    "evening_purchases": (
        f"count(*) FILTER (WHERE {_PURCHASE} AND extract(hour FROM {_LOCAL}) "
        f">= {AFTERNOON_BEFORE_HOUR})"
    ),
}
_LOCAL_DAY = f"({_LOCAL}::date - DATE '1970-01-01')"
# Stored beside the fields: the sorted local day numbers of the customer's purchases.
_PURCHASE_DAY_NUMBERS = (
    f"coalesce(jsonb_agg(DISTINCT {_LOCAL_DAY} ORDER BY {_LOCAL_DAY}) FILTER (WHERE {_PURCHASE}), "
    "'[]'::jsonb)"
)
_STORED_FIELDS: tuple[str, ...] = (*FACT_FIELDS, "purchase_day_numbers", "paid_day_numbers")
_STORED_COLUMNS = ", ".join(_STORED_FIELDS)
_OUTER_ONLY = {"purchase_days", "first_day_purchase_cents", "paid_purchase_days"}
# Positions in a result row (FACT_FIELDS order, then event_count).
_CATEGORY_INDEX = FACT_FIELDS.index("category_counts")
_EVENT_COUNT_INDEX = len(FACT_FIELDS)


def _aggregate_sql(*, by_customers: bool, cutoff: bool) -> str:
    """SELECT of the facts columns (in CustomerFactsRow order) plus `event_count`.

    Grouping uses COLLATE "C": a byte comparison of the 64-hex pseudonym is much cheaper than
    a locale-aware one and orders hex the same way.
    """
    where = ["e.venue_id = %(venue)s"]
    # Joining the customers as a relation, rather than `customer = ANY(array)`, lets the planner
    # see how few they are: with ANY it overestimated the rows ~8x and scanned the whole log.
    source = (
        # DISTINCT: a customer listed twice must not count their events twice.
        f"(SELECT DISTINCT unnest(%(customers)s::text[]) AS customer) AS wanted\n"
        f"        JOIN {_EVENTS} e ON e.customer = wanted.customer"
        if by_customers
        else f"{_EVENTS} e"
    )
    if cutoff:
        where.append("e.occurred_at <= %(cutoff)s")
    return _aggregate_select(source=source, condition=" AND ".join(where))


def _aggregate_select(*, source: str, condition: str) -> str:
    """The facts aggregate of the events `e` of `source` that meet `condition`, per customer."""
    aggregates = ",\n        ".join(
        f"{sql} AS {name}" for name, sql in _AGGREGATES.items() if name not in _OUTER_ONLY
    )
    outer = ", ".join(
        f"{sql} AS {name}" if name in _OUTER_ONLY else f"a.{name}"
        for name, sql in _AGGREGATES.items()
    )
    # Columns: the CustomerFactsRow fields in order, event_count, purchase_day_numbers,
    # paid_day_numbers.
    return f"""
    SELECT a.customer, {outer},
           coalesce(c.category_counts, '{{}}'::jsonb) AS category_counts,
           a.event_count, a.purchase_day_numbers,
           coalesce(d.paid_day_numbers, '[]'::jsonb) AS paid_day_numbers
    FROM (
        SELECT e.customer COLLATE "C" AS customer,
        {aggregates},
        {_PURCHASE_DAY_NUMBERS} AS purchase_day_numbers,
        count(*) AS event_count
        FROM {source}
        WHERE {condition}
        GROUP BY 1
    ) a
    LEFT JOIN (
        SELECT customer, jsonb_object_agg(event_category, purchases) AS category_counts
        FROM (
            SELECT e.customer COLLATE "C" AS customer, e.event_category, count(*) AS purchases
            FROM {source}
            WHERE {condition} AND {_PURCHASE} AND e.event_category <> ''
            GROUP BY 1, 2
        ) per_category
        GROUP BY 1
    ) c ON c.customer = a.customer
    LEFT JOIN (
        SELECT customer,
               (array_agg(cents ORDER BY day))[1] AS first_day_purchase_cents,
               jsonb_agg(day ORDER BY day) FILTER (WHERE cents > 0) AS paid_day_numbers
        FROM (
            SELECT e.customer COLLATE "C" AS customer, {_LOCAL_DAY} AS day,
                   coalesce(sum((e.amount * 100)::bigint), 0)::bigint AS cents
            FROM {source}
            WHERE {condition} AND {_PURCHASE}
            GROUP BY 1, 2
        ) per_day
        GROUP BY 1
    ) d ON d.customer = a.customer
    """  # noqa: S608 - identifiers come from the models; every value is a bound parameter


# A batch's newly stored events as a relation `e`, from the arrays ingestion already holds.
_BATCH_EVENTS = """unnest(
        %(customers)s::text[], %(types)s::text[], %(occurred)s::timestamptz[],
        %(amounts)s::numeric[], %(quantities)s::integer[], %(categories)s::text[]
    ) AS e(customer, type, occurred_at, amount, quantity, event_category)"""


# Merges a batch's aggregate (EXCLUDED) into the stored row (f): sums add up, first/last take
# the earlier/later (least and greatest skip nulls), day sets and category counts merge.
def _merged_days(column: str) -> str:
    """The sorted union of a stored day list and the batch's."""
    return f"""(
    SELECT coalesce(jsonb_agg(day ORDER BY day), '[]'::jsonb) FROM (
        SELECT jsonb_array_elements(f.{column})
        UNION SELECT jsonb_array_elements(EXCLUDED.{column})
    ) AS days(day))"""  # noqa: S608 - a column name of the facts model, no value


_MERGED_CATEGORIES = """(
    SELECT coalesce(jsonb_object_agg(category, purchases), '{}'::jsonb) FROM (
        SELECT category, sum(purchases::integer) AS purchases FROM (
            SELECT * FROM jsonb_each_text(f.category_counts)
            UNION ALL SELECT * FROM jsonb_each_text(EXCLUDED.category_counts)
        ) AS both_counts(category, purchases)
        GROUP BY category
    ) AS summed)"""


# The usual batch adds at most one purchase day per customer, and a later one: the day is
# then already known, or appended in order, without the set-returning merge (measured: the
# merges were half of the facts upsert's 75 µs per customer).
def _day_known(column: str) -> str:
    return f"f.{column} @> EXCLUDED.{column}"


def _day_appends(column: str) -> str:
    return (
        f"jsonb_array_length(EXCLUDED.{column}) = 1 AND coalesce("
        f"(f.{column} ->> -1)::integer < (EXCLUDED.{column} ->> 0)::integer, true)"
    )


def _merged_day_count(count: str, column: str) -> str:
    return (
        f"CASE WHEN {_day_known(column)} THEN f.{count} "
        f"WHEN {_day_appends(column)} THEN f.{count} + 1 "
        f"ELSE jsonb_array_length({_merged_days(column)}) END"
    )


def _merged_day_list(column: str) -> str:
    return (
        f"CASE WHEN {_day_known(column)} THEN f.{column} "
        f"WHEN {_day_appends(column)} THEN f.{column} || EXCLUDED.{column} "
        f"ELSE {_merged_days(column)} END"
    )


# The first purchase day's value: the batch's when its first day is earlier (or the customer
# had no purchase), the sum when both start on the same day.
_FIRST_DAY = "(f.purchase_day_numbers ->> 0)::integer"
_BATCH_FIRST_DAY = "(EXCLUDED.purchase_day_numbers ->> 0)::integer"
_MERGE: dict[str, str] = {
    "first_seen": "least(f.first_seen, EXCLUDED.first_seen)",
    "last_seen": "greatest(f.last_seen, EXCLUDED.last_seen)",
    "first_purchase_at": "least(f.first_purchase_at, EXCLUDED.first_purchase_at)",
    "last_purchase_at": "greatest(f.last_purchase_at, EXCLUDED.last_purchase_at)",
    "purchase_days": _merged_day_count("purchase_days", "purchase_day_numbers"),
    "first_day_purchase_cents": (
        f"CASE WHEN {_BATCH_FIRST_DAY} IS NULL THEN f.first_day_purchase_cents "
        f"WHEN {_FIRST_DAY} IS NULL OR {_BATCH_FIRST_DAY} < {_FIRST_DAY} "
        "THEN EXCLUDED.first_day_purchase_cents "
        f"WHEN {_BATCH_FIRST_DAY} = {_FIRST_DAY} "
        "THEN f.first_day_purchase_cents + EXCLUDED.first_day_purchase_cents "
        "ELSE f.first_day_purchase_cents END"
    ),
    "paid_purchase_days": _merged_day_count("paid_purchase_days", "paid_day_numbers"),
    "category_counts": (
        "CASE WHEN EXCLUDED.category_counts = '{}'::jsonb THEN f.category_counts "
        f"ELSE {_MERGED_CATEGORIES} END"
    ),
    "purchase_day_numbers": _merged_day_list("purchase_day_numbers"),
    "paid_day_numbers": _merged_day_list("paid_day_numbers"),
}
_ADDED = (
    "purchase_count",
    "purchase_cents",
    "purchase_quantity",
    "refund_count",
    "refund_cents",
    "refund_quantity",
    "morning_purchases",
    "afternoon_purchases",
    "evening_purchases",
)
if set(_MERGE) | set(_ADDED) != set(_STORED_FIELDS[1:]):
    raise ImproperlyConfigured("every stored facts field needs a merge rule")
_MERGE.update({name: f"f.{name} + EXCLUDED.{name}" for name in _ADDED})

_APPLY_BATCH_SQL = f"""
WITH agg AS ({_aggregate_select(source=_BATCH_EVENTS, condition="TRUE")})
INSERT INTO {_FACTS} AS f (venue_id, {_STORED_COLUMNS}, refreshed_at)
SELECT %(venue)s, {_STORED_COLUMNS}, %(now)s FROM agg ORDER BY customer
ON CONFLICT (venue_id, customer) DO UPDATE SET
    {", ".join(f"{name} = {_MERGE[name]}" for name in _STORED_FIELDS[1:])},
    refreshed_at = EXCLUDED.refreshed_at
"""  # noqa: S608 - identifiers come from the models; every value is a bound parameter


def facts_apply_events(*, venue: Venue, events: Sequence[tuple[Any, ...]], now: datetime) -> None:
    """Fold a batch of newly stored events into their customers' facts (PostgreSQL only).

    `events` are (customer, type, occurred_at, amount, quantity, event_category) rows of
    events not counted before (ingestion passes only those its insert stored). Runs inside
    the ingestion's transaction, after the pending marks: rows are locked in customer order,
    as every writer of facts does.
    """
    if not events:
        return
    customers, types, occurred, amounts, quantities, categories = (
        list(column) for column in zip(*events, strict=True)
    )
    params = {
        "venue": venue.pk,
        "tz": venue.timezone,
        "now": now,
        "customers": customers,
        "types": types,
        "occurred": occurred,
        "amounts": amounts,
        "quantities": quantities,
        "categories": categories,
    }
    execute_server_bound(_APPLY_BATCH_SQL, params)


def _store_sql(select_sql: str, *, conflict_update: bool) -> str:
    """Write the aggregate into CustomerFacts and return its rows, in one statement."""
    conflict = ""
    if conflict_update:
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in _STORED_FIELDS[1:])
        conflict = (
            f"ON CONFLICT (venue_id, customer) DO UPDATE SET {updates}, "
            "refreshed_at = EXCLUDED.refreshed_at"
        )
    return f"""
    WITH agg AS ({select_sql}),
    stored AS (
        INSERT INTO {_FACTS} (venue_id, {_STORED_COLUMNS}, refreshed_at)
        SELECT %(venue)s, {_STORED_COLUMNS}, %(now)s FROM agg ORDER BY customer
        {conflict}
    )
    SELECT * FROM agg ORDER BY customer
    """  # noqa: S608 - identifiers come from the models; every value is a bound parameter


def _row(values: Sequence) -> CustomerFactsRow:  # type: ignore[type-arg]
    """A CustomerFactsRow from a result row in FACT_FIELDS order (extra columns ignored)."""
    category_counts = values[_CATEGORY_INDEX]
    if isinstance(category_counts, str | bytes):
        category_counts = json.loads(category_counts)
    return CustomerFactsRow(*values[:_CATEGORY_INDEX], category_counts=category_counts)


# psycopg's compiled timestamptz loader. Django installs a pure-Python one on its connections
# (to apply its time zone setting); on a million rows that alone costs seconds.
_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(
    psycopg.postgres.types["timestamptz"].oid, psycopg.pq.Format.TEXT
)


def _fetch_all(sql: str, params: Any) -> list[tuple[Any, ...]]:
    """Run a query on Django's connection and fetch every row with the compiled loaders.

    The session time zone is UTC (Django sets it), so timestamps load as aware UTC datetimes,
    as Django's own loader would give them. No planner setting is pinned: tables filled in bulk
    are analyzed by whatever filled them (`statistics.tables_analyze`), and with statistics the
    planner walks a chunk's customers through the (venue, customer, time) index by itself.
    """
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _uses_sql() -> bool:
    return connection.vendor == "postgresql"


def facts_refresh(*, venue: Venue, customers: Sequence[str]) -> tuple[list[CustomerFactsRow], int]:
    """Recompute and store the facts of `customers` from all their events.

    Returns the fresh rows (ordered by customer) and the number of events read. A customer
    with no event keeps no facts row.
    """
    if not customers:
        return [], 0
    if not _uses_sql():
        return _facts_refresh_orm(venue=venue, customers=customers)
    params = {
        "venue": venue.pk,
        "tz": venue.timezone,
        "customers": list(customers),
        "now": timezone.now(),
    }
    sql = _store_sql(_aggregate_sql(by_customers=True, cutoff=False), conflict_update=True)
    result = _fetch_all(sql, params)
    rows = [_row(values) for values in result]
    if len(rows) < len(customers):
        found = {row.customer for row in rows}
        missing = [customer for customer in customers if customer not in found]
        CustomerFacts.objects.filter(venue=venue, customer__in=missing).delete()
    return rows, sum(values[_EVENT_COUNT_INDEX] for values in result)


def facts_for_customers(
    *, venue: Venue, customers: Sequence[str], cutoff: datetime | None
) -> tuple[list[CustomerFactsRow], int]:
    """The facts of `customers` over their events at or before `cutoff`, not stored.

    Used for a reproducible run in the past and for the on-demand single customer. Customers
    without an event at or before `cutoff` are absent from the result.
    """
    if not customers:
        return [], 0
    if not _uses_sql():
        return _facts_orm(venue=venue, customers=customers, cutoff=cutoff)
    params = {
        "venue": venue.pk,
        "tz": venue.timezone,
        "customers": list(customers),
        "cutoff": cutoff,
    }
    sql = _aggregate_sql(by_customers=True, cutoff=cutoff is not None) + " ORDER BY a.customer"
    result = _fetch_all(sql, params)
    return [_row(values) for values in result], sum(values[_EVENT_COUNT_INDEX] for values in result)


def facts_rebuild(*, venue: Venue) -> int:
    """Rebuild every facts row of the venue from its whole event log in one grouped pass.

    For bulk loads that bypass ingestion and for a change of the venue's time zone (hour
    buckets and purchase days are local). Pending marks are left for the next run: they say
    the *profile* is stale, which a facts rebuild does not fix. Returns the events read.
    """
    if not _uses_sql():
        customers = list(
            CustomerEvent.objects.filter(venue=venue)
            .order_by("customer")
            .values_list("customer", flat=True)
            .distinct()
        )
        CustomerFacts.objects.filter(venue=venue).delete()
        return _facts_refresh_orm(venue=venue, customers=customers)[1]
    params = {"venue": venue.pk, "tz": venue.timezone, "now": timezone.now()}
    select_sql = _aggregate_sql(by_customers=False, cutoff=False)
    sql = f"""
    WITH agg AS ({select_sql}),
    stored AS (
        INSERT INTO {_FACTS} (venue_id, {_STORED_COLUMNS}, refreshed_at)
        SELECT %(venue)s, {_STORED_COLUMNS}, %(now)s FROM agg ORDER BY customer
    )
    SELECT coalesce(sum(event_count), 0) FROM agg
    """  # noqa: S608 - identifiers come from the models; every value is a bound parameter
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_FACTS} WHERE venue_id = %s", [venue.pk])  # noqa: S608
        cursor.execute(sql, params)
        events = int(cursor.fetchone()[0])
        # Fresh statistics: with the old ones (a small table) the planner walks the next full
        # run's chunks with a bitmap scan and a sort of the whole venue per chunk (measured:
        # 1.2 s a chunk instead of 0.1 s at a million customers).
        cursor.execute(f"ANALYZE {_FACTS}")
    return events


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
    columns = ", ".join(FACT_FIELDS)
    sql = (
        f"SELECT {columns} FROM {_FACTS} WHERE venue_id = %s AND customer > %s "  # noqa: S608
        "ORDER BY venue_id, customer LIMIT %s"
    )
    while True:
        if _uses_sql():
            rows = [_row(values) for values in _fetch_all(sql, [venue.pk, after, chunk_size])]
        else:
            rows = [
                _row(values)
                for values in CustomerFacts.objects.filter(venue=venue, customer__gt=after)
                .order_by("customer")
                .values_list(*FACT_FIELDS)[:chunk_size]
            ]
        if not rows:
            return
        yield rows
        after = rows[-1].customer


@dataclass(frozen=True, slots=True)
class PendingChunk:
    """Pending customers taken together, in key order, and those whose facts ingestion kept
    current (the others' facts must be refreshed from their events)."""

    customers: list[str]
    facts_current: frozenset[str]


def pending_take(*, venue: Venue, chunk_size: int) -> Iterator[PendingChunk]:
    """Consume the venue's pending marks, `chunk_size` customers at a time, in key order.

    Each chunk's marks are deleted *before* the caller reads those customers' facts or events:
    an ingestion committing in between re-marks the customer (its ON CONFLICT waits for this
    transaction), so no event can be missed. Deleted marks reappear if the caller's
    transaction rolls back.
    """
    after = ""
    # Keys first, then a delete of exactly those through the unique index. The marks table is
    # a queue whose size swings between nothing and a whole venue, so its statistics are often
    # wrong: as one statement (an IN subquery with the LIMIT) a plan made when the table looked
    # empty re-ran the LIMIT scan for every mark, 20 s for 10,000 marks instead of 0.1 s.
    select_sql = (
        f"SELECT customer FROM {_PENDING} "  # noqa: S608
        "WHERE venue_id = %s AND customer > %s ORDER BY customer LIMIT %s"
    )
    delete_sql = (
        f"DELETE FROM {_PENDING} "  # noqa: S608
        "WHERE venue_id = %s AND customer = ANY(%s::text[]) RETURNING customer, facts_current"
    )
    while True:
        if _uses_sql():
            with connection.cursor() as cursor:
                cursor.execute(select_sql, [venue.pk, after, chunk_size])
                keys = [row[0] for row in cursor.fetchall()]
                if not keys:
                    return
                cursor.execute(delete_sql, [venue.pk, keys])
                marks = sorted(cursor.fetchall())
        else:
            marks = list(
                PendingCustomer.objects.filter(venue=venue, customer__gt=after)
                .order_by("customer")
                .values_list("customer", "facts_current")[:chunk_size]
            )
            keys = [customer for customer, _current in marks]
            if not keys:
                return
            PendingCustomer.objects.filter(venue=venue, customer__in=keys).delete()
        after = keys[-1]
        if marks:
            yield PendingChunk(
                customers=[customer for customer, _current in marks],
                facts_current=frozenset(customer for customer, current in marks if current),
            )


def facts_for_pending(*, venue: Venue, chunk: PendingChunk) -> tuple[list[CustomerFactsRow], int]:
    """The current facts of a chunk of pending customers, in customer order, and the events
    read: stored rows where ingestion kept them current, a refresh from the events otherwise."""
    stale = [c for c in chunk.customers if c not in chunk.facts_current]
    refreshed, events = facts_refresh(venue=venue, customers=stale)
    if not chunk.facts_current:
        return refreshed, events
    current = facts_read(venue=venue, customers=sorted(chunk.facts_current))
    return sorted([*refreshed, *current], key=lambda row: row.customer), events


def facts_read(*, venue: Venue, customers: Sequence[str]) -> list[CustomerFactsRow]:
    """The stored facts rows of these customers, in customer order."""
    if not customers:
        return []
    if not _uses_sql():
        return [
            _row(values)
            for values in CustomerFacts.objects.filter(venue=venue, customer__in=list(customers))
            .order_by("customer")
            .values_list(*FACT_FIELDS)
        ]
    sql = (
        f"SELECT {', '.join(FACT_FIELDS)} FROM {_FACTS} "  # noqa: S608
        "WHERE venue_id = %s AND customer = ANY(%s) ORDER BY customer"
    )
    return [_row(values) for values in _fetch_all(sql, [venue.pk, list(customers)])]


def stale_pending_count(*, venue: Venue) -> int:
    """How many pending customers have facts that ingestion did not keep current."""
    return PendingCustomer.objects.filter(venue=venue, facts_current=False).count()


def facts_count(*, venue: Venue) -> int:
    """How many facts rows the venue has (one per customer with events)."""
    return CustomerFacts.objects.filter(venue=venue).count()


def pending_clear(*, venue: Venue) -> None:
    """Delete every pending mark of the venue; the caller then rebuilds every customer's facts
    in the same transaction (see `pending_take` for why deleting first is safe)."""
    PendingCustomer.objects.filter(venue=venue).delete()


# --- portable path (SQLite, and any database without the hand-written SQL) -----------------


def _cents(amount: Decimal | None) -> int:
    if amount is None:
        return 0
    return int(Decimal(amount).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _facts_orm(
    *, venue: Venue, customers: Sequence[str], cutoff: datetime | None
) -> tuple[list[CustomerFactsRow], int]:
    tz = ZoneInfo(venue.timezone)
    events = CustomerEvent.objects.filter(venue=venue, customer__in=list(customers))
    if cutoff is not None:
        events = events.filter(occurred_at__lte=cutoff)
    purchase = Q(type=EventType.TICKET_PURCHASED)
    refund = Q(type=EventType.TICKET_REFUNDED)
    zero = Value(0, output_field=IntegerField())
    aggregates = (
        events.alias(local_hour=ExtractHour("occurred_at", tzinfo=tz))
        .values("customer")
        .order_by("customer")
        .annotate(
            first_seen=Min("occurred_at"),
            last_seen=Max("occurred_at"),
            purchase_count=Count("id", filter=purchase),
            purchase_amount=Sum("amount", filter=purchase),
            purchase_quantity=Coalesce(Sum("quantity", filter=purchase), zero),
            refund_count=Count("id", filter=refund),
            refund_amount=Sum("amount", filter=refund),
            refund_quantity=Coalesce(Sum("quantity", filter=refund), zero),
            first_purchase_at=Min("occurred_at", filter=purchase),
            last_purchase_at=Max("occurred_at", filter=purchase),
            purchase_days=Count(
                TruncDate("occurred_at", tzinfo=tz), distinct=True, filter=purchase
            ),
            morning=Count("id", filter=purchase & Q(local_hour__lt=MORNING_BEFORE_HOUR)),
            afternoon=Count(
                "id",
                filter=purchase
                & Q(local_hour__gte=MORNING_BEFORE_HOUR, local_hour__lt=AFTERNOON_BEFORE_HOUR),
            ),
            evening=Count("id", filter=purchase & Q(local_hour__gte=AFTERNOON_BEFORE_HOUR)),
            event_count=Count("id"),
        )
    )
    # Each customer's purchase cents per local day, in day order: the first day's value and
    # the days worth something.
    first_day_cents: dict[str, int] = {}
    paid_days: dict[str, int] = {}
    for customer, _day, amount in (
        events.filter(purchase)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("customer", "day")
        .order_by("customer", "day")
        .annotate(amount=Sum("amount"))
        .values_list("customer", "day", "amount")
    ):
        cents = _cents(amount)
        first_day_cents.setdefault(customer, cents)
        paid_days[customer] = paid_days.get(customer, 0) + (cents > 0)
    categories: dict[str, dict[str, int]] = {}
    for customer, category, purchases in (
        events.filter(purchase)
        .exclude(event_category="")
        .values("customer", "event_category")
        .order_by()
        .annotate(purchases=Count("id"))
        .values_list("customer", "event_category", "purchases")
    ):
        categories.setdefault(customer, {})[category] = purchases
    rows: list[CustomerFactsRow] = []
    event_count = 0
    for agg in aggregates:
        event_count += agg["event_count"]
        rows.append(
            CustomerFactsRow(
                customer=agg["customer"],
                first_seen=agg["first_seen"],
                last_seen=agg["last_seen"],
                purchase_count=agg["purchase_count"],
                purchase_cents=_cents(agg["purchase_amount"]),
                purchase_quantity=agg["purchase_quantity"],
                refund_count=agg["refund_count"],
                refund_cents=_cents(agg["refund_amount"]),
                refund_quantity=agg["refund_quantity"],
                first_purchase_at=agg["first_purchase_at"],
                last_purchase_at=agg["last_purchase_at"],
                purchase_days=agg["purchase_days"],
                first_day_purchase_cents=first_day_cents.get(agg["customer"], 0),
                paid_purchase_days=paid_days.get(agg["customer"], 0),
                morning_purchases=agg["morning"],
                afternoon_purchases=agg["afternoon"],
                evening_purchases=agg["evening"],
                category_counts=categories.get(agg["customer"], {}),
            )
        )
    return rows, event_count


def _facts_refresh_orm(
    *, venue: Venue, customers: Sequence[str]
) -> tuple[list[CustomerFactsRow], int]:
    rows: list[CustomerFactsRow] = []
    event_count = 0
    now = timezone.now()
    # SQLite caps the parameters of one statement; keep each IN list well below it.
    for start in range(0, len(customers), 500):
        part = customers[start : start + 500]
        part_rows, part_events = _facts_orm(venue=venue, customers=part, cutoff=None)
        CustomerFacts.objects.filter(venue=venue, customer__in=part).delete()
        CustomerFacts.objects.bulk_create(
            [
                CustomerFacts(
                    venue=venue,
                    refreshed_at=now,
                    **{name: getattr(row, name) for name in FACT_FIELDS},
                )
                for row in part_rows
            ]
        )
        rows.extend(part_rows)
        event_count += part_events
    return rows, event_count
