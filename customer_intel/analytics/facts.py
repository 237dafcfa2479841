"""The per-customer aggregates every computed profile field derives from.

The recompute engine reads these from the database (the `CustomerFacts` summary table or a
grouped query over the event log) and hands them, as plain Python values, to the pure rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CustomerFactsRow:
    """One customer's aggregates over the events at or before the run's as-of instant.

    Money is in integer cents; purchases are `ticket.purchased`, refunds `ticket.refunded`.
    The hour buckets count purchases by their local hour in the venue's time zone.
    """

    customer: str
    first_seen: datetime
    last_seen: datetime
    purchase_count: int = 0
    purchase_cents: int = 0
    purchase_quantity: int = 0
    refund_count: int = 0
    refund_cents: int = 0
    refund_quantity: int = 0
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    purchase_days: int = 0
    # Purchase cents on the first local purchase day, and local days with a purchase of any
    # value: the spend model averages repeat occasions only, and only those worth something.
    first_day_purchase_cents: int = 0
    paid_purchase_days: int = 0
    morning_purchases: int = 0
    afternoon_purchases: int = 0
    evening_purchases: int = 0
    category_counts: Mapping[str, int] = field(default_factory=dict)
