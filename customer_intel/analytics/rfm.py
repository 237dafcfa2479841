"""RFM analysis: recency, frequency and monetary scores (1-5) and the segment they name.

As the SPEC defines it, the reported `frequency` is totalTickets and `monetary` is totalSpent,
but the frequency *score* is taken on purchaseFrequency (purchases per year): ticket counts
say more about group size than about loyalty.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from customer_intel.analytics.rules import cents_to_decimal
from customer_intel.analytics.vocabulary import RFM_SEGMENTS as RFM_SEGMENTS  # re-exported
from customer_intel.analytics.vocabulary import RfmSegment

# (lower bound, score), highest first; recency is "at most N days", the others "at least".
RECENCY_SCORE_MAX_DAYS: tuple[tuple[int, int], ...] = ((30, 5), (60, 4), (90, 3), (180, 2))
FREQUENCY_SCORE_MIN_PER_YEAR: tuple[tuple[float, int], ...] = ((10, 5), (6, 4), (3, 3), (1, 2))
# Monetary bounds in cents: 1000.00, 500.00, 200.00, 50.00 in the venue's currency.
MONETARY_SCORE_MIN_CENTS: tuple[tuple[int, int], ...] = (
    (100_000, 5),
    (50_000, 4),
    (20_000, 3),
    (5_000, 2),
)
LOWEST_SCORE = 1
SCORES = (1, 2, 3, 4, 5)

# The audit's named codes ("RFM" digits); they take precedence over the grid.
NAMED_CODES: dict[str, RfmSegment] = {
    "555": RfmSegment.CHAMPIONS,
    "554": RfmSegment.CHAMPIONS,
    "454": RfmSegment.LOYAL_CUSTOMERS,
    "543": RfmSegment.POTENTIAL_LOYALISTS,
    "533": RfmSegment.RECENT_CUSTOMERS,
    "332": RfmSegment.PROMISING,
    "311": RfmSegment.NEW_CUSTOMERS,
    "211": RfmSegment.HIBERNATING,
    "112": RfmSegment.AT_RISK,
    "111": RfmSegment.LOST,
}

# The standard recency x frequency grid: RF_GRID[recency score][frequency score - 1].
RF_GRID: dict[int, tuple[RfmSegment, ...]] = {
    5: (
        RfmSegment.NEW_CUSTOMERS,
        RfmSegment.POTENTIAL_LOYALISTS,
        RfmSegment.POTENTIAL_LOYALISTS,
        RfmSegment.CHAMPIONS,
        RfmSegment.CHAMPIONS,
    ),
    4: (
        RfmSegment.PROMISING,
        RfmSegment.POTENTIAL_LOYALISTS,
        RfmSegment.POTENTIAL_LOYALISTS,
        RfmSegment.LOYAL_CUSTOMERS,
        RfmSegment.LOYAL_CUSTOMERS,
    ),
    3: (
        RfmSegment.ABOUT_TO_SLEEP,
        RfmSegment.ABOUT_TO_SLEEP,
        RfmSegment.NEED_ATTENTION,
        RfmSegment.LOYAL_CUSTOMERS,
        RfmSegment.LOYAL_CUSTOMERS,
    ),
    2: (
        RfmSegment.HIBERNATING,
        RfmSegment.HIBERNATING,
        RfmSegment.AT_RISK,
        RfmSegment.AT_RISK,
        RfmSegment.CANT_LOSE_THEM,
    ),
    1: (
        RfmSegment.LOST,
        RfmSegment.HIBERNATING,
        RfmSegment.AT_RISK,
        RfmSegment.AT_RISK,
        RfmSegment.CANT_LOSE_THEM,
    ),
}


def _segment_for(r: int, f: int, m: int) -> RfmSegment:
    return NAMED_CODES.get(f"{r}{f}{m}") or RF_GRID[r][f - 1]


# All 125 codes resolved once: the per-customer lookup is then a single dict access.
_SEGMENT_BY_SCORES: dict[tuple[int, int, int], RfmSegment] = {
    (r, f, m): _segment_for(r, f, m) for r in SCORES for f in SCORES for m in SCORES
}


# Not frozen, like Insight: one is built per customer per run and a frozen __init__ is slower.
@dataclass(slots=True)
class RfmResult:
    """One customer's RFM analysis.

    `recency` is days since the last purchase, `frequency` total tickets, `monetary` total
    spent. A customer without a purchase has no recency, no scores and the segment Prospects;
    their frequency and monetary are the (zero) facts, not unknowns.
    """

    recency: int | None
    frequency: int
    monetary: Decimal
    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    segment: str


def recency_score(days_since_last_purchase: int) -> int:
    """5 for a purchase within 30 days, 4 within 60, 3 within 90, 2 within 180, else 1."""
    for max_days, score in RECENCY_SCORE_MAX_DAYS:
        if days_since_last_purchase <= max_days:
            return score
    return LOWEST_SCORE


def frequency_score(purchase_frequency: float) -> int:
    """On purchases per year: ≥10 → 5, ≥6 → 4, ≥3 → 3, ≥1 → 2, else 1."""
    for min_per_year, score in FREQUENCY_SCORE_MIN_PER_YEAR:
        if purchase_frequency >= min_per_year:
            return score
    return LOWEST_SCORE


def monetary_score(total_spent_cents: int) -> int:
    """On total spent: ≥1000 → 5, ≥500 → 4, ≥200 → 3, ≥50 → 2, else 1 (currency units)."""
    for min_cents, score in MONETARY_SCORE_MIN_CENTS:
        if total_spent_cents >= min_cents:
            return score
    return LOWEST_SCORE


def rfm_segment(r: int, f: int, m: int) -> RfmSegment:
    """The segment name of a score triple: the audit's named codes first, then the RxF grid."""
    try:
        return _SEGMENT_BY_SCORES[(r, f, m)]
    except KeyError:
        raise ValueError(f"RFM scores must be 1-5, got {r}, {f}, {m}") from None


def rfm_analysis(
    *,
    days_since_last_purchase: int | None,
    total_tickets: int,
    total_spent_cents: int,
    purchase_frequency: float,
) -> RfmResult:
    """The RFM analysis of one customer."""
    total_spent = cents_to_decimal(total_spent_cents)
    if days_since_last_purchase is None:
        return RfmResult(None, total_tickets, total_spent, None, None, None, RfmSegment.PROSPECTS)
    r = recency_score(days_since_last_purchase)
    f = frequency_score(purchase_frequency)
    m = monetary_score(total_spent_cents)
    return RfmResult(
        recency=days_since_last_purchase,
        frequency=total_tickets,
        monetary=total_spent,
        recency_score=r,
        frequency_score=f,
        monetary_score=m,
        segment=_SEGMENT_BY_SCORES[(r, f, m)],
    )
