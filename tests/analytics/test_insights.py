"""Insights: the audit's three and the model-driven three, each at its threshold."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from customer_intel.analytics.insights import (
    INSIGHT_TYPES,
    Insight,
    build_insights,
    insight_to_json,
)
from tests.analytics.support import AS_OF


def insights(
    *,
    churn=0.1,
    days=10,
    spent_cents=0,
    probability_alive=None,
    expected_purchases_30d=None,
    **kwargs,
):
    return build_insights(
        as_of=AS_OF,
        churn_probability=churn,
        days_since_last_purchase=days,
        total_spent_cents=spent_cents,
        currency="EUR",
        probability_alive=probability_alive,
        expected_purchases_30d=expected_purchases_30d,
        **kwargs,
    )


def types(found: list[Insight]) -> list[str]:
    return [insight.type for insight in found]


def test_an_ordinary_recent_customer_has_none():
    assert insights() == []


def test_a_customer_without_purchase_has_none():
    assert insights(churn=None, days=None, spent_cents=0) == []


class TestChurnRisk:
    def test_above_0_6_is_a_high_churn_risk(self):
        (found,) = insights(churn=0.6001, days=60)
        assert found.type == "churn_risk"
        assert found.title == "High Churn Risk"
        assert found.impact == "high"
        assert found.actionable is True
        assert found.suggested_actions == (
            "Send personalized retention offer",
            "Reach out with exclusive event previews",
        )
        assert found.valid_until == AS_OF + timedelta(days=7)
        assert found.metadata == {"churnProbability": 0.6001, "daysSinceLastPurchase": 60}
        assert "60%" in found.description and "60 days" in found.description

    def test_exactly_0_6_is_not(self):
        assert insights(churn=0.6, days=60) == []


class TestLowEngagement:
    def test_more_than_90_days_is_inactive(self):
        (found,) = insights(churn=0.42, days=91)
        assert found.type == "low_engagement"
        assert found.title == "Inactive Customer"
        assert found.impact == "medium"
        assert found.suggested_actions == ("Send re-engagement campaign",)
        assert found.valid_until == AS_OF + timedelta(days=14)
        assert found.metadata == {"daysSinceLastPurchase": 91}
        assert "91 days" in found.description

    def test_exactly_90_days_is_not(self):
        assert insights(churn=0.4, days=90) == []


class TestHighValue:
    def test_more_than_1000_spent_is_a_vip(self):
        (found,) = insights(spent_cents=100_001)
        assert found.type == "high_value"
        assert found.title == "VIP Customer"
        assert found.impact == "high"
        assert found.suggested_actions == ("Provide VIP treatment",)
        assert found.valid_until == AS_OF + timedelta(days=30)
        assert found.metadata == {"totalSpent": "1000.01"}
        assert "EUR 1,000.01" in found.description

    def test_exactly_1000_is_not(self):
        assert insights(spent_cents=100_000) == []


class TestLikelyToBuy:
    def test_half_a_purchase_expected_in_30_days_is_enough(self):
        (found,) = insights(expected_purchases_30d=0.5, probability_alive=0.9)
        assert found.type == "likely_to_buy"
        assert found.title == "Likely To Buy Again"
        assert found.impact == "medium"
        assert found.valid_until == AS_OF + timedelta(days=7)
        assert found.metadata == {"expectedPurchases30d": 0.5, "probabilityAlive": 0.9}
        assert found.suggested_actions

    def test_below_half_is_not(self):
        assert insights(expected_purchases_30d=0.4999) == []

    def test_absent_without_a_prediction(self):
        assert insights(expected_purchases_30d=None) == []


class TestHighValueSlipping:
    def test_big_spender_below_the_alive_threshold(self):
        found = insights(spent_cents=150_000, probability_alive=0.4999)
        assert types(found) == ["high_value", "high_value_slipping"]
        slipping = found[1]
        assert slipping.title == "High-Value Customer Slipping"
        assert slipping.impact == "high"
        assert slipping.valid_until == AS_OF + timedelta(days=7)
        assert slipping.metadata == {
            "totalSpent": "1500.00",
            "probabilityAlive": 0.4999,
            "slippingThreshold": 0.5,
        }

    def test_at_the_threshold_is_not_slipping(self):
        assert types(insights(spent_cents=150_000, probability_alive=0.5)) == ["high_value"]

    def test_needs_more_than_1000_spent(self):
        assert insights(spent_cents=100_000, probability_alive=0.01) == []

    def test_the_venue_threshold_applies(self):
        found = insights(spent_cents=150_000, probability_alive=0.6, slipping_threshold=0.7)
        assert types(found) == ["high_value", "high_value_slipping"]

    def test_absent_without_a_prediction(self):
        assert types(insights(spent_cents=150_000, probability_alive=None)) == ["high_value"]


class TestAuditValueUnlikely:
    """The audit rule's value is high while the model says the customer has most likely lapsed
    (the dormant top spender: 17,983.62 by the rule, P(alive) 0.0003)."""

    def test_a_high_audit_value_with_a_low_probability_alive(self):
        found = insights(
            churn=0.8,
            days=400,
            spent_cents=2_000_000,
            probability_alive=0.0003,
            audit_lifetime_value_cents=1_798_362,
        )
        unlikely = next(i for i in found if i.type == "audit_value_unlikely")
        assert unlikely.title == "Audit-Rule Value Unlikely"
        assert unlikely.impact == "high"
        assert unlikely.actionable
        assert unlikely.valid_until == AS_OF + timedelta(days=7)
        assert "EUR 17,983.62" in unlikely.description
        assert "0.0%" in unlikely.description
        assert unlikely.suggested_actions[0].startswith("Do not budget on the audit-rule")
        assert unlikely.metadata == {
            "predictedLifetimeValue": "17983.62",
            "probabilityAlive": 0.0003,
            "probabilityAliveBelow": 0.2,
        }

    @pytest.mark.parametrize(
        ("value_cents", "alive", "expected"),
        [
            (100_001, 0.1999, True),
            (100_000, 0.01, False),  # the value must be above 1000.00
            (100_001, 0.2, False),  # and P(alive) below 0.2
            (100_001, None, False),  # only with a prediction
        ],
    )
    def test_thresholds(self, value_cents, alive, expected):
        found = insights(probability_alive=alive, audit_lifetime_value_cents=value_cents)
        assert ("audit_value_unlikely" in types(found)) is expected


def test_all_six_in_a_stable_order():
    found = insights(
        churn=0.8,
        days=200,
        spent_cents=500_000,
        probability_alive=0.1,
        expected_purchases_30d=0.7,
        audit_lifetime_value_cents=400_000,
    )
    assert types(found) == list(INSIGHT_TYPES)


def test_json_form_is_camel_case_with_an_iso_valid_until():
    (found,) = insights(churn=0.8, days=70)
    assert insight_to_json(found) == {
        "type": "churn_risk",
        "title": "High Churn Risk",
        "description": found.description,
        "impact": "high",
        "actionable": True,
        "suggestedActions": [
            "Send personalized retention offer",
            "Reach out with exclusive event previews",
        ],
        "validUntil": "2026-06-08T12:00:00Z",
        "metadata": {"churnProbability": 0.8, "daysSinceLastPurchase": 70},
    }


def test_json_writes_valid_until_in_utc_to_the_second():
    as_of = AS_OF.astimezone(ZoneInfo("America/New_York")).replace(microsecond=250_000)
    (found,) = build_insights(
        as_of=as_of,
        churn_probability=0.1,
        days_since_last_purchase=1,
        total_spent_cents=200_000,
        currency="EUR",
    )
    assert insight_to_json(found)["validUntil"] == "2026-07-01T12:00:00Z"


@pytest.mark.parametrize(
    ("spent_cents", "text"), [(100_001, "EUR 1,000.01"), (999_999_99, "EUR 999,999.99")]
)
def test_descriptions_are_sentences_with_the_amounts_in_the_venues_currency(spent_cents, text):
    (found,) = insights(spent_cents=spent_cents)
    assert found.description.endswith(".")
    assert text in found.description
    assert "EUR 1,000.00 mark" in found.description
    assert found.metadata["totalSpent"] == text.removeprefix("EUR ").replace(",", "")


def test_metadata_figures_are_rounded_as_every_answer_writes_them():
    slipping, likely = insights(
        spent_cents=500_000, probability_alive=0.123456, expected_purchases_30d=0.87654
    )[-2:]
    assert slipping.metadata["probabilityAlive"] == 0.1235
    assert likely.metadata == {"expectedPurchases30d": 0.88, "probabilityAlive": 0.1235}
