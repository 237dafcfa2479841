"""One customer's full computed profile from their aggregates: every SPEC field at once.

`compute_profile` runs for every customer of a venue on a full recompute (up to a million per
run), so it works in integer cents and builds each `Decimal` once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from customer_intel.analytics import rules
from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.insights import build_insights, insight_to_json
from customer_intel.analytics.rfm import rfm_analysis
from customer_intel.analytics.thresholds import (
    DEFAULT_THRESHOLDS,
    SLIPPING_PROBABILITY_ALIVE,
    SegmentThresholds,
)


@dataclass(frozen=True, slots=True)
class ProfileValues:
    """The computed columns of a `CustomerProfile` row; field names match the model's.

    Money is a two-decimal `Decimal` in the venue's currency. `rfm_frequency` is total tickets
    and `rfm_monetary` total spent (the SPEC's RFM values), while `frequency_score` is scored on
    `purchase_frequency`. The event-type columns are "" when there are fewer preferences.
    """

    customer: str
    total_purchases: int
    total_spent: Decimal
    total_tickets: int
    average_order_value: Decimal
    purchase_frequency: float
    days_since_last_purchase: int | None
    first_seen: datetime
    last_seen: datetime
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    segment: str
    churn_probability: float | None
    predicted_lifetime_value: Decimal
    preferred_event_types: list[str]
    top_event_type: str
    second_event_type: str
    third_event_type: str
    purchase_time: str | None
    rfm_recency: int | None
    rfm_frequency: int | None
    rfm_monetary: Decimal | None
    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    rfm_segment: str
    insights: list[dict[str, Any]]
    refunds_exceed_purchases: bool = False


def compute_profile(
    facts: CustomerFactsRow,
    *,
    as_of: datetime,
    currency: str,
    thresholds: SegmentThresholds = DEFAULT_THRESHOLDS,
    probability_alive: float | None = None,
    expected_purchases_30d: float | None = None,
    slipping_threshold: float = SLIPPING_PROBABILITY_ALIVE,
) -> ProfileValues:
    """Every computed profile field of one customer as of `as_of`.

    `facts` must aggregate only events at or before `as_of`; `currency` is the venue's, for the
    amounts in the insights' text. The optional predictions come
    from the venue's fitted purchase model and only add model-driven insights.
    """
    purchases = facts.purchase_count
    spent_cents = rules.total_spent_cents(facts.purchase_cents, facts.refund_cents)
    tickets = rules.total_tickets(facts.purchase_quantity, facts.refund_quantity)
    aov_cents = rules.average_order_value_cents(spent_cents, purchases)
    frequency = rules.purchase_frequency(purchases, facts.first_purchase_at, as_of)
    days = rules.days_since(facts.last_purchase_at, as_of)
    churn = rules.churn_probability(days_since_last_purchase=days, purchase_frequency=frequency)
    rfm = rfm_analysis(
        days_since_last_purchase=days,
        total_tickets=tickets,
        total_spent_cents=spent_cents,
        purchase_frequency=frequency,
    )
    preferred = rules.preferred_event_types(facts.category_counts) if facts.category_counts else []
    padded = [*preferred, "", "", ""]
    lifetime_value_cents = rules.predicted_lifetime_value_cents(aov_cents, frequency)
    insights = build_insights(
        as_of=as_of,
        churn_probability=churn,
        days_since_last_purchase=days,
        total_spent_cents=spent_cents,
        currency=currency,
        probability_alive=probability_alive,
        expected_purchases_30d=expected_purchases_30d,
        slipping_threshold=slipping_threshold,
        audit_lifetime_value_cents=lifetime_value_cents,
    )
    return ProfileValues(
        customer=facts.customer,
        total_purchases=purchases,
        total_spent=rfm.monetary,
        total_tickets=tickets,
        average_order_value=rules.cents_to_decimal(aov_cents),
        purchase_frequency=frequency,
        days_since_last_purchase=days,
        first_seen=facts.first_seen,
        last_seen=facts.last_seen,
        first_purchase_at=facts.first_purchase_at,
        last_purchase_at=facts.last_purchase_at,
        segment=rules.segment(
            days_since_last_purchase=days,
            total_spent_cents=spent_cents,
            purchase_frequency=frequency,
            thresholds=thresholds,
        ),
        churn_probability=churn,
        predicted_lifetime_value=rules.cents_to_decimal(lifetime_value_cents),
        preferred_event_types=preferred,
        top_event_type=padded[0],
        second_event_type=padded[1],
        third_event_type=padded[2],
        purchase_time=rules.purchase_time(
            facts.morning_purchases, facts.afternoon_purchases, facts.evening_purchases
        ),
        rfm_recency=rfm.recency,
        rfm_frequency=rfm.frequency,
        rfm_monetary=rfm.monetary,
        recency_score=rfm.recency_score,
        frequency_score=rfm.frequency_score,
        monetary_score=rfm.monetary_score,
        rfm_segment=rfm.segment,
        insights=[insight_to_json(insight) for insight in insights] if insights else [],
        refunds_exceed_purchases=rules.refunds_exceed_purchases(
            facts.purchase_cents, facts.refund_cents
        ),
    )
