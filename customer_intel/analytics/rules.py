"""The SPEC's per-customer formulas, one function each, over plain Python values.

Money is handled in integer cents so sums and comparisons are exact and cheap; converting to
`Decimal` is left to the one place that builds a stored profile (`profile.compute_profile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from customer_intel.analytics.thresholds import DEFAULT_THRESHOLDS, SegmentThresholds
from customer_intel.analytics.vocabulary import HORIZON_YEARS, PurchaseTime, Segment
from customer_intel.analytics.vocabulary import SEGMENTS as SEGMENTS  # re-exported

SECONDS_PER_DAY = 86_400
# A Julian year, so leap years neither inflate nor deflate a long-standing customer's rate.
DAYS_PER_YEAR = 365.25
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY
# "A one-off buyer is 1/year, not infinity": the year count is never below one.
MIN_FREQUENCY_YEARS = 1.0
# Purchase frequency is stored and served with four decimals; every rule decides on that same
# stored value, so a profile never shows a frequency of 4.0 next to a segment that needed > 4.
FREQUENCY_DECIMALS = 4
_FREQUENCY_SCALE = 10**FREQUENCY_DECIMALS

# Churn: (days since last purchase strictly above, base probability), checked in order.
CHURN_BY_DAYS: tuple[tuple[int, float], ...] = ((180, 0.8), (90, 0.6), (60, 0.4), (30, 0.2))
CHURN_BASE = 0.1
# Frequent buyers churn less: (purchase frequency strictly above, multiplier), first match.
CHURN_FREQUENCY_MULTIPLIERS: tuple[tuple[float, float], ...] = ((4.0, 0.5), (2.0, 0.7))
# Rounding hides float noise (0.5 x 0.7 = 0.35000000000000003) without losing information.
CHURN_DECIMALS = 4

_ONE_CENT = Decimal("0.01")

PREFERRED_EVENT_TYPES_LIMIT = 3


def cents_to_decimal(cents: int) -> Decimal:
    """Integer cents as a two-decimal amount in currency units (12345 → Decimal("123.45"))."""
    # Exact (within Decimal's 28 digits) and keeps the exponent at -2, so 0 is "0.00".
    return cents * _ONE_CENT


def days_since(last_purchase_at: datetime | None, as_of: datetime) -> int | None:
    """Whole days from the last purchase to `as_of` (the floor), or None without a purchase.

    A last purchase after `as_of` cannot come from the aggregates (they stop at `as_of`) and
    is clamped to 0 rather than reported as a negative age.
    """
    if last_purchase_at is None:
        return None
    days = (as_of - last_purchase_at).days  # timedelta.days is already the floor
    return days if days > 0 else 0


def purchase_frequency(
    purchase_count: int, first_purchase_at: datetime | None, as_of: datetime
) -> float:
    """Purchases per year: count / max(years since the first purchase, 1), four decimals.

    Years are 365.25-day years. 0.0 when there is no purchase.
    """
    if purchase_count <= 0 or first_purchase_at is None:
        return 0.0
    years = (as_of - first_purchase_at).total_seconds() / SECONDS_PER_YEAR
    if years < MIN_FREQUENCY_YEARS:
        years = MIN_FREQUENCY_YEARS
    return round(purchase_count / years, FREQUENCY_DECIMALS)


def total_spent_cents(purchase_cents: int, refund_cents: int) -> int:
    """Purchases minus refunds, never below zero (a refund of an older purchase can exceed
    what the window holds)."""
    net = purchase_cents - refund_cents
    return net if net > 0 else 0


def refunds_exceed_purchases(purchase_cents: int, refund_cents: int) -> bool:
    """Refunds larger than the purchases they could refund: accepted (a feed may deliver a
    refund before its purchase) but flagged, since the totals are floored at zero."""
    return refund_cents > purchase_cents


def total_tickets(purchase_quantity: int, refund_quantity: int) -> int:
    """Tickets bought minus tickets refunded, never below zero."""
    net = purchase_quantity - refund_quantity
    return net if net > 0 else 0


def average_order_value_cents(total_spent_cents: int, purchase_count: int) -> int:
    """totalSpent / totalPurchases rounded half-up to the cent; 0 when there is no purchase."""
    if purchase_count <= 0:
        return 0
    # Integer half-up rounding: exact, unlike float division followed by round().
    return (2 * total_spent_cents + purchase_count) // (2 * purchase_count)


def segment(
    *,
    days_since_last_purchase: int | None,
    total_spent_cents: int,
    purchase_frequency: float,
    thresholds: SegmentThresholds = DEFAULT_THRESHOLDS,
) -> Segment:
    """The customer segment: the first matching rule, every comparison strict.

    No purchase → new; then lost / dormant / at_risk by days since the last purchase; then
    vip (spent and frequency), regular (frequency), else occasional.
    """
    days = days_since_last_purchase
    if days is None:
        return Segment.NEW
    if days > thresholds.lost_after_days:
        return Segment.LOST
    if days > thresholds.dormant_after_days:
        return Segment.DORMANT
    if days > thresholds.at_risk_after_days:
        return Segment.AT_RISK
    if purchase_frequency > thresholds.vip_min_frequency and total_spent_cents > _cents_of(
        thresholds.vip_min_spent
    ):
        return Segment.VIP
    if purchase_frequency > thresholds.regular_min_frequency:
        return Segment.REGULAR
    return Segment.OCCASIONAL


@lru_cache(maxsize=64)
def _cents_of(amount: Decimal) -> int | Decimal:
    """A threshold in currency units as cents: an int when whole, else the exact Decimal.

    Cached because every customer of a run compares against the same venue threshold.
    """
    cents = amount * 100
    return int(cents) if cents == cents.to_integral_value() else cents


def churn_probability(
    *, days_since_last_purchase: int | None, purchase_frequency: float
) -> float | None:
    """The audit's churn score: a base by days since the last purchase, lowered for frequent
    buyers. None when there is no purchase."""
    days = days_since_last_purchase
    if days is None:
        return None
    probability = CHURN_BASE
    for above_days, base in CHURN_BY_DAYS:
        if days > above_days:
            probability = base
            break
    for above_frequency, multiplier in CHURN_FREQUENCY_MULTIPLIERS:
        if purchase_frequency > above_frequency:
            probability *= multiplier
            break
    return round(min(probability, 1.0), CHURN_DECIMALS)


def predicted_lifetime_value_cents(
    average_order_value_cents: int, purchase_frequency: float
) -> int:
    """averageOrderValue x purchaseFrequency x HORIZON_YEARS, half-up to the cent.

    The frequency is taken at its stored four decimals, which makes the product exact in
    integers: the served value is exactly the served AOV times the served frequency times 3.
    """
    frequency_units = round(purchase_frequency * _FREQUENCY_SCALE)
    scaled = average_order_value_cents * frequency_units * HORIZON_YEARS
    return (2 * scaled + _FREQUENCY_SCALE) // (2 * _FREQUENCY_SCALE)


def preferred_event_types(category_counts: Mapping[str, int]) -> list[str]:
    """Up to three event categories by number of purchases, most first, ties by name.

    Purchases without a category (empty name) and non-positive counts are not preferences.
    """
    # Sorting (-count, name) pairs orders by count descending, then name ascending.
    ranked = sorted(
        [(-count, name) for name, count in category_counts.items() if name and count > 0]
    )
    return [name for _count, name in ranked[:PREFERRED_EVENT_TYPES_LIMIT]]


def purchase_time(morning: int, afternoon: int, evening: int) -> PurchaseTime | None:
    """The most common purchase-time bucket; ties go to the earlier bucket; None when no
    purchase falls in any bucket."""
    if morning <= 0 and afternoon <= 0 and evening <= 0:
        return None
    if morning >= afternoon and morning >= evening:
        return PurchaseTime.MORNING
    if afternoon >= evening:
        return PurchaseTime.AFTERNOON
    return PurchaseTime.EVENING
