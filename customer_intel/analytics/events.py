"""A reference aggregator: one customer's events → their `CustomerFactsRow`, in plain Python.

The recompute aggregates in the database; this is the definition those queries must agree
with, written so it can be read and tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.vocabulary import (
    EventType,
    PurchaseTime,
    local_day_number,
    purchase_time_bucket,
)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """The fields of one stored event the profile depends on."""

    type: str
    occurred_at: datetime
    amount: Decimal | None = None
    quantity: int = 1
    event_category: str = ""


def amount_to_cents(amount: Decimal | None) -> int:
    """A currency amount as integer cents, exactly; a missing amount counts as zero.

    Stored amounts have two decimals; anything finer would be silently rounded by a cents
    column, so it is refused instead.
    """
    if amount is None:
        return 0
    cents = amount.scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError("amount has more than two decimal places")
    return int(cents)


def facts_from_events(
    customer: str, events: Iterable[EventRecord], *, as_of: datetime, tz: ZoneInfo
) -> CustomerFactsRow | None:
    """Aggregate one customer's events at or before `as_of` (in any order).

    Events after `as_of` are ignored entirely; None when no event is at or before it.
    Hour buckets and purchase days use the purchase's local time in `tz` (the venue's time
    zone, DST included); `first_day_purchase_cents` is the value bought on the first such day
    and `paid_purchase_days` counts the days whose purchases are worth more than zero.
    Purchases without a category are not counted in `category_counts`.
    """
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    purchase_count = purchase_cents = purchase_quantity = 0
    refund_count = refund_cents = refund_quantity = 0
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    cents_by_day: dict[int, int] = {}
    buckets = dict.fromkeys(PurchaseTime, 0)
    category_counts: dict[str, int] = {}

    for event in events:
        at = event.occurred_at
        if at > as_of:
            continue
        if first_seen is None or at < first_seen:
            first_seen = at
        if last_seen is None or at > last_seen:
            last_seen = at
        if event.type == EventType.TICKET_PURCHASED:
            purchase_count += 1
            purchase_cents += amount_to_cents(event.amount)
            purchase_quantity += event.quantity
            if first_purchase_at is None or at < first_purchase_at:
                first_purchase_at = at
            if last_purchase_at is None or at > last_purchase_at:
                last_purchase_at = at
            day = local_day_number(at, tz)
            cents_by_day[day] = cents_by_day.get(day, 0) + amount_to_cents(event.amount)
            buckets[purchase_time_bucket(at.astimezone(tz).hour)] += 1
            if event.event_category:
                category_counts[event.event_category] = (
                    category_counts.get(event.event_category, 0) + 1
                )
        elif event.type == EventType.TICKET_REFUNDED:
            refund_count += 1
            refund_cents += amount_to_cents(event.amount)
            refund_quantity += event.quantity

    if first_seen is None or last_seen is None:
        return None
    return CustomerFactsRow(
        customer=customer,
        first_seen=first_seen,
        last_seen=last_seen,
        purchase_count=purchase_count,
        purchase_cents=purchase_cents,
        purchase_quantity=purchase_quantity,
        refund_count=refund_count,
        refund_cents=refund_cents,
        refund_quantity=refund_quantity,
        first_purchase_at=first_purchase_at,
        last_purchase_at=last_purchase_at,
        purchase_days=len(cents_by_day),
        first_day_purchase_cents=cents_by_day[min(cents_by_day)] if cents_by_day else 0,
        paid_purchase_days=sum(1 for cents in cents_by_day.values() if cents > 0),
        morning_purchases=buckets[PurchaseTime.MORNING],
        afternoon_purchases=buckets[PurchaseTime.AFTERNOON],
        evening_purchases=buckets[PurchaseTime.EVENING],
        category_counts=category_counts,
    )
