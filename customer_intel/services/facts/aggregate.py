"""A customer's facts, defined once: ORM aggregates over their events.

Every path that computes facts uses these definitions. Reads run them as ORM queries on any
database; the two statements hand-written for PostgreSQL (the server-side store in `store`,
the ingestion-time merge in `merge`) embed the SQL Django compiles from them. They agree with
the pure reference `customer_intel.analytics.events.facts_from_events`.

Money is summed in integer cents, and local hours and purchase days are taken in the venue's
time zone (DST included) inside the database, so Python only ever sees plain integers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Cast, ExtractHour
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.vocabulary import (
    AFTERNOON_BEFORE_HOUR,
    MORNING_BEFORE_HOUR,
    EventType,
)
from customer_intel.db.expressions import (
    BytewiseKey,
    Cents,
    JSONArrayLength,
    LocalDayNumber,
    SortedSet,
    TextIn,
)
from customer_intel.models import CustomerEvent, Venue

PURCHASE = Q(type=EventType.TICKET_PURCHASED)
REFUND = Q(type=EventType.TICKET_REFUNDED)
PAID = Q(amount__gt=0)

FACT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CustomerFactsRow))
# A stored facts row also keeps the purchase days themselves, and those with a purchase of
# positive value: ingestion merges a batch's days into them, so purchase_days and
# paid_purchase_days stay exact without rereading the customer's events.
STORED_FIELDS: tuple[str, ...] = (*FACT_FIELDS, "purchase_day_numbers", "paid_day_numbers")
# Fields that need a grouping of their own: per event category, and per purchase day.
_GROUPED_APART = ("category_counts", "first_day_purchase_cents")
# What one aggregated customer comes back as: the stored fields (those grouped apart aside),
# then how many events were read.
AGGREGATED_COLUMNS: tuple[str, ...] = (
    "customer_key",
    *(name for name in STORED_FIELDS[1:] if name not in _GROUPED_APART),
    "event_count",
)


@dataclass(frozen=True, slots=True)
class AggregatedFacts:
    """One customer's facts as a stored row holds them, and the events they were read from."""

    row: CustomerFactsRow
    purchase_day_numbers: list[int]
    paid_day_numbers: list[int]
    events: int


def events_of(
    *, venue: Venue, customers: Iterable[str] | None = None, cutoff: Any = None
) -> QuerySet[CustomerEvent]:
    """The venue's events, of these customers only and at or before `cutoff` when given."""
    events = CustomerEvent.objects.filter(venue=venue)
    if customers is not None:
        events = events.filter(TextIn("customer", list(customers)))
    if cutoff is not None:
        events = events.filter(occurred_at__lte=cutoff)
    return events


def _aggregates(tz: ZoneInfo) -> dict[str, Any]:
    """The aggregate of each column of AGGREGATED_COLUMNS but the key, over one customer's
    events."""
    local_hour = ExtractHour("occurred_at", tzinfo=tz)
    purchase_days = SortedSet(LocalDayNumber("occurred_at", tz=tz), filter=PURCHASE)
    # Amounts are never negative, so a day's purchases are worth something exactly when one
    # of them is.
    paid_days = SortedSet(LocalDayNumber("occurred_at", tz=tz), filter=PURCHASE & PAID)

    def purchases_where(condition: Any) -> Count:
        return Count("id", filter=PURCHASE & Q(condition))

    return {
        "first_seen": Min("occurred_at"),
        "last_seen": Max("occurred_at"),
        "purchase_count": Count("id", filter=PURCHASE),
        "purchase_cents": _whole(Sum(Cents("amount"), filter=PURCHASE, default=0)),
        "purchase_quantity": _whole(Sum("quantity", filter=PURCHASE, default=0)),
        "refund_count": Count("id", filter=REFUND),
        "refund_cents": _whole(Sum(Cents("amount"), filter=REFUND, default=0)),
        "refund_quantity": _whole(Sum("quantity", filter=REFUND, default=0)),
        "first_purchase_at": Min("occurred_at", filter=PURCHASE),
        "last_purchase_at": Max("occurred_at", filter=PURCHASE),
        # Distinct local days with a purchase: the number of the days listed below.
        "purchase_days": JSONArrayLength(purchase_days),
        "paid_purchase_days": JSONArrayLength(paid_days),
        "morning_purchases": purchases_where(LessThan(local_hour, MORNING_BEFORE_HOUR)),
        "afternoon_purchases": purchases_where(
            Q(GreaterThanOrEqual(local_hour, MORNING_BEFORE_HOUR))
            & Q(LessThan(local_hour, AFTERNOON_BEFORE_HOUR))
        ),
        "evening_purchases": purchases_where(GreaterThanOrEqual(local_hour, AFTERNOON_BEFORE_HOUR)),
        "purchase_day_numbers": purchase_days,
        "paid_day_numbers": paid_days,
        "event_count": Count("id"),
    }


def _whole(total: Sum) -> Cast:
    # PostgreSQL sums bigints as numeric (a Decimal in Python): facts hold plain integers.
    return Cast(total, BigIntegerField())


def aggregated(events: QuerySet[CustomerEvent], *, tz: ZoneInfo) -> QuerySet:
    """Per customer of `events`: the AGGREGATED_COLUMNS, in that order."""
    return (
        events.values(customer_key=BytewiseKey("customer"))
        .annotate(**_aggregates(tz))
        .order_by()
        .values_list(*AGGREGATED_COLUMNS)
    )


def category_counts(events: QuerySet[CustomerEvent]) -> QuerySet:
    """Per customer and event category of `events`: how many purchases, as
    (customer_key, event_category, purchases). Purchases without a category are left out."""
    return (
        events.filter(PURCHASE)
        .exclude(event_category="")
        .values("event_category", customer_key=BytewiseKey("customer"))
        .annotate(purchases=Count("id"))
        .order_by()
        .values_list("customer_key", "event_category", "purchases")
    )


def day_cents(events: QuerySet[CustomerEvent], *, tz: ZoneInfo) -> QuerySet:
    """Per customer and local purchase day of `events`: the purchases' value, as
    (customer_key, day, cents). A customer's first day gives `first_day_purchase_cents`."""
    return (
        events.filter(PURCHASE)
        .values(customer_key=BytewiseKey("customer"), day=LocalDayNumber("occurred_at", tz=tz))
        .annotate(cents=Sum(Cents("amount"), default=0))
        .order_by()
        .values_list("customer_key", "day", "cents")
    )


def facts_aggregate(events: QuerySet[CustomerEvent], *, tz: ZoneInfo) -> Iterator[AggregatedFacts]:
    """The facts of every customer of `events`, in customer order, read through the ORM."""
    categories: dict[str, dict[str, int]] = {}
    for customer, category, purchases in category_counts(events):
        categories.setdefault(customer, {})[category] = purchases
    first_day_cents: dict[str, int] = {}
    for customer, _day, cents in day_cents(events, tz=tz).order_by("customer_key", "day"):
        first_day_cents.setdefault(customer, cents)
    for values in aggregated(events, tz=tz).order_by("customer_key"):
        columns = dict(zip(AGGREGATED_COLUMNS, values, strict=True))
        columns["category_counts"] = categories.get(values[0], {})
        columns["first_day_purchase_cents"] = first_day_cents.get(values[0], 0)
        yield _aggregated_facts(columns)


def _json_list(value: Any) -> list[int]:
    return json.loads(value) if isinstance(value, str | bytes) else list(value)


def _aggregated_facts(columns: Mapping[str, Any]) -> AggregatedFacts:
    """An AggregatedFacts from every stored field, the customer under `customer_key`, and
    event_count."""
    counts = columns["category_counts"]
    if isinstance(counts, str | bytes):
        counts = json.loads(counts)
    return AggregatedFacts(
        row=CustomerFactsRow(
            columns["customer_key"],
            **{name: columns[name] for name in FACT_FIELDS[1:] if name != "category_counts"},
            category_counts=counts,
        ),
        # SQLite hands the sets back in any order.
        purchase_day_numbers=sorted(_json_list(columns["purchase_day_numbers"])),
        paid_day_numbers=sorted(_json_list(columns["paid_day_numbers"])),
        events=columns["event_count"],
    )


def server_side_select(events: QuerySet[CustomerEvent], *, tz: ZoneInfo) -> tuple[str, tuple]:
    """A PostgreSQL SELECT of complete facts rows of `events` (STORED_FIELDS, then
    event_count, one row per customer), built from the SQL Django compiles for `aggregated`,
    `category_counts` and `day_cents`, for the statements that write facts without fetching
    them."""
    main_sql, main_params = aggregated(events, tz=tz).query.sql_with_params()
    counts_sql, counts_params = category_counts(events).query.sql_with_params()
    days_sql, days_params = day_cents(events, tz=tz).query.sql_with_params()
    apart = {
        "category_counts": "coalesce(c.category_counts, '{}'::jsonb) AS category_counts",
        "first_day_purchase_cents": (
            "coalesce(d.first_day_purchase_cents, 0) AS first_day_purchase_cents"
        ),
    }
    columns = ", ".join(apart.get(name, f"a.{name}") for name in STORED_FIELDS[1:])
    sql = f"""
    SELECT a.customer_key AS customer, {columns}, a.event_count
    FROM ({main_sql}) a
    LEFT JOIN (
        SELECT customer_key, jsonb_object_agg(event_category, purchases) AS category_counts
        FROM ({counts_sql}) per_category
        GROUP BY customer_key
    ) c ON c.customer_key = a.customer_key
    LEFT JOIN (
        SELECT DISTINCT ON (customer_key) customer_key, cents AS first_day_purchase_cents
        FROM ({days_sql}) per_day
        ORDER BY customer_key, day
    ) d ON d.customer_key = a.customer_key
    """  # noqa: S608 - built from compiled ORM queries; every value is a bound parameter
    return sql, (*main_params, *counts_params, *days_params)


def aggregated_from_stored(values: tuple[Any, ...]) -> AggregatedFacts:
    """An AggregatedFacts from a row of `server_side_select`'s columns."""
    return _aggregated_facts(
        dict(zip(("customer_key", *STORED_FIELDS[1:], "event_count"), values, strict=True))
    )
