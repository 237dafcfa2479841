"""compute_profile on hand-computed customers, every field asserted."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.profile import ProfileValues, compute_profile
from customer_intel.analytics.thresholds import SegmentThresholds
from tests.analytics.support import AS_OF, CUSTOMER

# The computed columns of customer_intel.models.CustomerProfile (the model itself is not
# imported: this package is tested without Django).
PROFILE_COLUMNS = (
    "customer",
    "total_purchases",
    "total_spent",
    "total_tickets",
    "average_order_value",
    "purchase_frequency",
    "days_since_last_purchase",
    "first_seen",
    "last_seen",
    "first_purchase_at",
    "last_purchase_at",
    "segment",
    "churn_probability",
    "predicted_lifetime_value",
    "preferred_event_types",
    "top_event_type",
    "second_event_type",
    "third_event_type",
    "purchase_time",
    "rfm_recency",
    "rfm_frequency",
    "rfm_monetary",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_segment",
    "insights",
    "refunds_exceed_purchases",
)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_field_names_are_the_profile_columns():
    assert tuple(f.name for f in dataclasses.fields(ProfileValues)) == PROFILE_COLUMNS


def test_a_visitor_who_never_bought_is_a_new_prospect():
    facts = CustomerFactsRow(
        customer=CUSTOMER, first_seen=at(2026, 5, 1, 9), last_seen=at(2026, 5, 20, 18)
    )
    assert compute_profile(facts, as_of=AS_OF, currency="USD") == ProfileValues(
        customer=CUSTOMER,
        total_purchases=0,
        total_spent=Decimal("0.00"),
        total_tickets=0,
        average_order_value=Decimal("0.00"),
        purchase_frequency=0.0,
        days_since_last_purchase=None,
        first_seen=at(2026, 5, 1, 9),
        last_seen=at(2026, 5, 20, 18),
        first_purchase_at=None,
        last_purchase_at=None,
        segment="new",
        churn_probability=None,
        predicted_lifetime_value=Decimal("0.00"),
        preferred_event_types=[],
        top_event_type="",
        second_event_type="",
        third_event_type="",
        purchase_time=None,
        rfm_recency=None,
        rfm_frequency=0,
        rfm_monetary=Decimal("0.00"),
        recency_score=None,
        frequency_score=None,
        monetary_score=None,
        rfm_segment="Prospects",
        insights=[],
    )


def test_a_frequent_big_spender_is_a_vip_champion():
    facts = CustomerFactsRow(
        customer=CUSTOMER,
        first_seen=at(2025, 5, 20, 8),
        last_seen=at(2026, 5, 25, 10),
        # 365 days before as-of: under a 365.25-day year, so the year count is 1.
        first_purchase_at=at(2025, 6, 1, 12),
        last_purchase_at=at(2026, 5, 20, 12),
        purchase_count=12,
        purchase_cents=250_000,
        purchase_quantity=30,
        refund_count=1,
        refund_cents=10_000,
        refund_quantity=2,
        purchase_days=11,
        morning_purchases=2,
        afternoon_purchases=5,
        evening_purchases=5,
        category_counts={"concert": 5, "comedy": 5, "jazz": 1, "": 1},
    )
    assert compute_profile(facts, as_of=AS_OF, currency="USD") == ProfileValues(
        customer=CUSTOMER,
        total_purchases=12,
        total_spent=Decimal("2400.00"),
        total_tickets=28,
        average_order_value=Decimal("200.00"),
        purchase_frequency=12.0,
        days_since_last_purchase=12,
        first_seen=at(2025, 5, 20, 8),
        last_seen=at(2026, 5, 25, 10),
        first_purchase_at=at(2025, 6, 1, 12),
        last_purchase_at=at(2026, 5, 20, 12),
        segment="vip",
        churn_probability=0.05,  # 0.1 x 0.5
        predicted_lifetime_value=Decimal("7200.00"),  # 200 x 12 x 3
        preferred_event_types=["comedy", "concert", "jazz"],
        top_event_type="comedy",
        second_event_type="concert",
        third_event_type="jazz",
        purchase_time="afternoon",  # ties with evening, goes to the earlier bucket
        rfm_recency=12,
        rfm_frequency=28,
        rfm_monetary=Decimal("2400.00"),
        recency_score=5,
        frequency_score=5,
        monetary_score=5,
        rfm_segment="Champions",
        insights=[
            {
                "type": "high_value",
                "title": "VIP Customer",
                "description": (
                    "Has spent USD 2,400.00 in total, above the USD 1,000.00 mark of a "
                    "high-value customer."
                ),
                "impact": "high",
                "actionable": True,
                "suggestedActions": ["Provide VIP treatment"],
                "validUntil": "2026-07-01T12:00:00Z",
                "metadata": {"totalSpent": "2400.00"},
            }
        ],
    )


def test_a_lapsed_customer_whose_refunds_exceed_purchases_is_lost():
    facts = CustomerFactsRow(
        customer=CUSTOMER,
        first_seen=at(2023, 6, 1, 12),
        last_seen=at(2025, 5, 1, 12),
        # 1096 days before as-of = 3.000684 years → 3 / 3.000684 = 0.99977 purchases a year.
        first_purchase_at=at(2023, 6, 1, 12),
        last_purchase_at=at(2025, 4, 27, 12),  # 400 days before as-of
        purchase_count=3,
        purchase_cents=4_500,
        purchase_quantity=3,
        refund_count=2,
        refund_cents=6_000,
        refund_quantity=5,
        purchase_days=3,
        evening_purchases=3,
    )
    assert compute_profile(facts, as_of=AS_OF, currency="USD") == ProfileValues(
        customer=CUSTOMER,
        total_purchases=3,
        total_spent=Decimal("0.00"),
        total_tickets=0,
        average_order_value=Decimal("0.00"),
        purchase_frequency=0.9998,
        days_since_last_purchase=400,
        first_seen=at(2023, 6, 1, 12),
        last_seen=at(2025, 5, 1, 12),
        first_purchase_at=at(2023, 6, 1, 12),
        last_purchase_at=at(2025, 4, 27, 12),
        segment="lost",
        churn_probability=0.8,
        predicted_lifetime_value=Decimal("0.00"),
        preferred_event_types=[],
        top_event_type="",
        second_event_type="",
        third_event_type="",
        purchase_time="evening",
        rfm_recency=400,
        rfm_frequency=0,
        rfm_monetary=Decimal("0.00"),
        recency_score=1,
        frequency_score=1,
        monetary_score=1,
        rfm_segment="Lost",
        insights=[
            {
                "type": "churn_risk",
                "title": "High Churn Risk",
                "description": "Churn probability is 80%: the last purchase was 400 days ago.",
                "impact": "high",
                "actionable": True,
                "suggestedActions": [
                    "Send personalized retention offer",
                    "Reach out with exclusive event previews",
                ],
                "validUntil": "2026-06-08T12:00:00Z",
                "metadata": {"churnProbability": 0.8, "daysSinceLastPurchase": 400},
            },
            {
                "type": "low_engagement",
                "title": "Inactive Customer",
                "description": (
                    "No purchase in 400 days, more than the 90 days after which a customer "
                    "counts as inactive."
                ),
                "impact": "medium",
                "actionable": True,
                "suggestedActions": ["Send re-engagement campaign"],
                "validUntil": "2026-06-15T12:00:00Z",
                "metadata": {"daysSinceLastPurchase": 400},
            },
        ],
        refunds_exceed_purchases=True,
    )


REGULAR_FACTS = CustomerFactsRow(
    customer=CUSTOMER,
    first_seen=at(2024, 5, 1),
    last_seen=at(2026, 4, 17, 12),
    first_purchase_at=at(2024, 6, 1),  # 730.5 days = exactly two 365.25-day years
    last_purchase_at=at(2026, 4, 17, 12),  # 45 days before as-of
    purchase_count=6,
    purchase_cents=150_000,
    purchase_quantity=6,
    purchase_days=6,
    morning_purchases=4,
    afternoon_purchases=1,
    evening_purchases=1,
    category_counts={"theatre": 3, "comedy": 1},
)


def test_a_regular_big_spender_the_model_sees_slipping():
    profile = compute_profile(
        REGULAR_FACTS,
        as_of=AS_OF,
        currency="USD",
        probability_alive=0.3,
        expected_purchases_30d=0.6,
    )
    assert profile == ProfileValues(
        customer=CUSTOMER,
        total_purchases=6,
        total_spent=Decimal("1500.00"),
        total_tickets=6,
        average_order_value=Decimal("250.00"),
        purchase_frequency=3.0,
        days_since_last_purchase=45,
        first_seen=at(2024, 5, 1),
        last_seen=at(2026, 4, 17, 12),
        first_purchase_at=at(2024, 6, 1),
        last_purchase_at=at(2026, 4, 17, 12),
        segment="regular",  # 3 a year is > 2 but not > 4
        churn_probability=0.14,  # 0.2 x 0.7
        predicted_lifetime_value=Decimal("2250.00"),  # 250 x 3 x 3
        preferred_event_types=["theatre", "comedy"],
        top_event_type="theatre",
        second_event_type="comedy",
        third_event_type="",
        purchase_time="morning",
        rfm_recency=45,
        rfm_frequency=6,
        rfm_monetary=Decimal("1500.00"),
        recency_score=4,
        frequency_score=3,
        monetary_score=5,
        rfm_segment="Potential Loyalists",  # code 435, from the R x F grid
        insights=[
            {
                "type": "high_value",
                "title": "VIP Customer",
                "description": (
                    "Has spent USD 1,500.00 in total, above the USD 1,000.00 mark of a "
                    "high-value customer."
                ),
                "impact": "high",
                "actionable": True,
                "suggestedActions": ["Provide VIP treatment"],
                "validUntil": "2026-07-01T12:00:00Z",
                "metadata": {"totalSpent": "1500.00"},
            },
            {
                "type": "high_value_slipping",
                "title": "High-Value Customer Slipping",
                "description": (
                    "Has spent USD 1,500.00 in total, but the chance they are still an active "
                    "customer has fallen to 30% (below 50%)."
                ),
                "impact": "high",
                "actionable": True,
                "suggestedActions": [
                    "Reach out personally before they lapse",
                    "Offer priority access to their next favourite event",
                ],
                "validUntil": "2026-06-08T12:00:00Z",
                "metadata": {
                    "totalSpent": "1500.00",
                    "probabilityAlive": 0.3,
                    "slippingThreshold": 0.5,
                },
            },
            {
                "type": "likely_to_buy",
                "title": "Likely To Buy Again",
                "description": "Expected to make 0.60 purchases in the next 30 days.",
                "impact": "medium",
                "actionable": True,
                "suggestedActions": [
                    "Recommend upcoming events in their preferred categories",
                    "Time the next campaign for the coming weeks",
                ],
                "validUntil": "2026-06-08T12:00:00Z",
                "metadata": {"expectedPurchases30d": 0.6, "probabilityAlive": 0.3},
            },
        ],
    )


def test_venue_thresholds_change_the_segment_only():
    stricter = SegmentThresholds(regular_min_frequency=3.0, at_risk_after_days=44)
    default = compute_profile(REGULAR_FACTS, as_of=AS_OF, currency="USD")
    venue = compute_profile(REGULAR_FACTS, as_of=AS_OF, currency="USD", thresholds=stricter)
    assert (default.segment, venue.segment) == ("regular", "at_risk")
    assert dataclasses.replace(venue, segment="regular") == default


def test_a_later_as_of_ages_the_same_facts():
    later = compute_profile(REGULAR_FACTS, as_of=at(2026, 10, 1, 12), currency="USD")  # 167 days on
    assert later.days_since_last_purchase == 167
    assert later.segment == "at_risk"
    assert later.churn_probability == 0.42  # 0.6 x 0.7
    assert later.recency_score == 2
    assert [i["type"] for i in later.insights] == ["low_engagement", "high_value"]


@pytest.mark.parametrize(
    ("purchase_cents", "refund_cents", "flagged"),
    [(0, 500, True), (1000, 1001, True), (1000, 1000, False), (1000, 0, False)],
)
def test_refunds_exceeding_purchases_are_flagged_and_totals_floored(
    purchase_cents, refund_cents, flagged
):
    facts = CustomerFactsRow(
        customer="c" * 64,
        first_seen=at(2025, 1, 1),
        last_seen=at(2025, 1, 2),
        purchase_count=1 if purchase_cents else 0,
        purchase_cents=purchase_cents,
        refund_count=1 if refund_cents else 0,
        refund_cents=refund_cents,
        first_purchase_at=at(2025, 1, 1) if purchase_cents else None,
        last_purchase_at=at(2025, 1, 1) if purchase_cents else None,
    )

    profile = compute_profile(facts, as_of=AS_OF, currency="USD")

    assert profile.refunds_exceed_purchases is flagged
    assert profile.total_spent >= 0
