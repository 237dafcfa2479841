"""The SPEC's per-customer formulas, boundary by boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from customer_intel.analytics import rules
from customer_intel.analytics.thresholds import SegmentThresholds
from tests.analytics.support import AS_OF

ONE_YEAR = timedelta(days=365.25)


class TestDaysSince:
    def test_whole_days_are_the_floor_of_elapsed_time(self):
        assert rules.days_since(AS_OF - timedelta(days=30, hours=23, minutes=59), AS_OF) == 30
        assert rules.days_since(AS_OF - timedelta(days=31), AS_OF) == 31

    def test_same_instant_and_less_than_a_day_are_zero(self):
        assert rules.days_since(AS_OF, AS_OF) == 0
        assert rules.days_since(AS_OF - timedelta(hours=23), AS_OF) == 0

    def test_a_purchase_after_as_of_is_clamped_to_zero(self):
        assert rules.days_since(AS_OF + timedelta(days=3), AS_OF) == 0

    def test_no_purchase_has_no_days(self):
        assert rules.days_since(None, AS_OF) is None

    def test_works_across_time_zones(self):
        local = datetime(2026, 5, 31, 14, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 12:00 UTC
        assert rules.days_since(local, AS_OF) == 1


class TestPurchaseFrequency:
    def test_no_purchase_is_zero(self):
        assert rules.purchase_frequency(0, None, AS_OF) == 0.0

    def test_a_one_off_buyer_is_once_a_year_not_infinity(self):
        assert rules.purchase_frequency(1, AS_OF, AS_OF) == 1.0
        assert rules.purchase_frequency(1, AS_OF - timedelta(days=10), AS_OF) == 1.0

    def test_less_than_a_year_counts_as_one_year(self):
        assert rules.purchase_frequency(5, AS_OF - timedelta(days=364), AS_OF) == 5.0

    def test_years_are_julian_365_25_days(self):
        assert rules.purchase_frequency(6, AS_OF - 2 * ONE_YEAR, AS_OF) == 3.0
        # 730 days is slightly less than two such years.
        assert rules.purchase_frequency(6, AS_OF - timedelta(days=730), AS_OF) == 3.0021

    def test_rounded_to_four_decimals(self):
        assert rules.purchase_frequency(1, AS_OF - 3 * ONE_YEAR, AS_OF) == 0.3333


class TestTotals:
    def test_refunds_net_out_purchases(self):
        assert rules.total_spent_cents(10_000, 2_500) == 7_500
        assert rules.total_tickets(5, 2) == 3

    @pytest.mark.parametrize(("bought", "refunded"), [(1_000, 1_000), (1_000, 5_000), (0, 1)])
    def test_never_below_zero(self, bought, refunded):
        assert rules.total_spent_cents(bought, refunded) == 0
        assert rules.total_tickets(bought, refunded) == 0


class TestAverageOrderValue:
    def test_zero_without_purchase(self):
        assert rules.average_order_value_cents(0, 0) == 0

    def test_exact_division(self):
        assert rules.average_order_value_cents(30_000, 3) == 10_000

    @pytest.mark.parametrize(
        ("spent", "count", "expected"),
        [
            (1_000, 3, 333),  # 333.33… down
            (2_000, 3, 667),  # 666.66… up
            (1, 2, 1),  # 0.5 half-up
            (5, 2, 3),  # 2.5 half-up, not to even
            (3, 2, 2),  # 1.5 half-up
        ],
    )
    def test_rounds_half_up_to_the_cent(self, spent, count, expected):
        assert rules.average_order_value_cents(spent, count) == expected


def segment(days, *, spent_cents=0, frequency=1.0, thresholds=None):
    kwargs = {"thresholds": thresholds} if thresholds else {}
    return rules.segment(
        days_since_last_purchase=days,
        total_spent_cents=spent_cents,
        purchase_frequency=frequency,
        **kwargs,
    )


class TestSegment:
    def test_no_purchase_is_new(self):
        assert segment(None, spent_cents=0, frequency=0.0) == "new"

    @pytest.mark.parametrize(
        ("days", "expected"),
        [
            (0, "occasional"),
            (90, "occasional"),
            (91, "at_risk"),
            (180, "at_risk"),
            (181, "dormant"),
            (365, "dormant"),
            (366, "lost"),
            (5_000, "lost"),
        ],
    )
    def test_days_boundaries_are_strict(self, days, expected):
        assert segment(days) == expected

    def test_recency_outranks_value(self):
        assert segment(91, spent_cents=10_000_000, frequency=50.0) == "at_risk"

    @pytest.mark.parametrize(
        ("spent_cents", "frequency", "expected"),
        [
            (100_001, 4.0001, "vip"),
            (100_000, 4.0001, "regular"),  # exactly 1000 is not more than 1000
            (100_001, 4.0, "regular"),  # exactly 4 is not more than 4
            (100_000, 10.0, "regular"),
            (50_000, 2.0001, "regular"),
            (50_000, 2.0, "occasional"),  # exactly 2 is not more than 2
            (10_000_000, 1.0, "occasional"),
        ],
    )
    def test_value_and_frequency_boundaries_are_strict(self, spent_cents, frequency, expected):
        assert segment(30, spent_cents=spent_cents, frequency=frequency) == expected

    def test_venue_thresholds_replace_the_defaults(self):
        strict = SegmentThresholds(
            lost_after_days=100,
            dormant_after_days=50,
            at_risk_after_days=20,
            vip_min_spent=Decimal("99.99"),
            vip_min_frequency=1.0,
            regular_min_frequency=0.5,
        )
        assert segment(101, thresholds=strict) == "lost"
        assert segment(51, thresholds=strict) == "dormant"
        assert segment(21, thresholds=strict) == "at_risk"
        assert segment(20, spent_cents=10_000, frequency=1.5, thresholds=strict) == "vip"
        assert segment(20, spent_cents=9_999, frequency=1.5, thresholds=strict) == "regular"
        assert segment(20, spent_cents=0, frequency=0.5, thresholds=strict) == "occasional"

    def test_fractional_cent_threshold_compares_exactly(self):
        thresholds = SegmentThresholds(vip_min_spent=Decimal("1000.005"))
        assert segment(1, spent_cents=100_000, frequency=5.0, thresholds=thresholds) == "regular"
        assert segment(1, spent_cents=100_001, frequency=5.0, thresholds=thresholds) == "vip"


def churn(days, frequency=1.0):
    return rules.churn_probability(days_since_last_purchase=days, purchase_frequency=frequency)


class TestChurnProbability:
    def test_none_without_purchase(self):
        assert churn(None, 0.0) is None

    @pytest.mark.parametrize(
        ("days", "expected"),
        [
            (0, 0.1),
            (30, 0.1),
            (31, 0.2),
            (60, 0.2),
            (61, 0.4),
            (90, 0.4),
            (91, 0.6),
            (180, 0.6),
            (181, 0.8),
            (365, 0.8),
            (366, 0.8),
        ],
    )
    def test_base_by_days_boundaries_are_strict(self, days, expected):
        assert churn(days) == expected

    @pytest.mark.parametrize(
        ("days", "frequency", "expected"),
        [
            (181, 4.0001, 0.4),  # x 0.5
            (181, 4.0, 0.56),  # exactly 4 takes the x 0.7 step
            (181, 2.0001, 0.56),
            (181, 2.0, 0.8),  # exactly 2 is not adjusted
            (91, 5.0, 0.3),
            (91, 3.0, 0.42),
            (61, 3.0, 0.28),
            (31, 3.0, 0.14),
            (10, 3.0, 0.07),
            (10, 12.0, 0.05),
        ],
    )
    def test_frequent_buyers_churn_less(self, days, frequency, expected):
        assert churn(days, frequency) == expected

    def test_float_noise_is_rounded_away(self):
        # 0.5 x 0.7 would be 0.35000000000000003 unrounded; 0.2 x 0.7 0.13999999999999999.
        assert repr(churn(31, 3.0)) == "0.14"
        assert repr(churn(91, 3.0)) == "0.42"


class TestPredictedLifetimeValue:
    def test_three_year_horizon(self):
        assert rules.predicted_lifetime_value_cents(10_000, 2.0) == 60_000

    def test_zero_without_purchase(self):
        assert rules.predicted_lifetime_value_cents(0, 0.0) == 0

    def test_half_up_to_the_cent_on_the_stored_frequency(self):
        # 1 cent x 0.1667 x 3 = 0.5001 cents → 1; 1 x 0.1666 x 3 = 0.4998 → 0.
        assert rules.predicted_lifetime_value_cents(1, 0.1667) == 1
        assert rules.predicted_lifetime_value_cents(1, 0.1666) == 0
        # 1500 cents x 0.9998 x 3 = 4499.1 cents.
        assert rules.predicted_lifetime_value_cents(1_500, 0.9998) == 4_499
        # 5 cents x 0.1 x 3 = 1.5 cents: exactly half, rounds up (float maths would say 1.4999…).
        assert rules.predicted_lifetime_value_cents(5, 0.1) == 2


class TestPreferredEventTypes:
    def test_top_three_by_count_most_first(self):
        counts = {"jazz": 1, "concert": 5, "comedy": 3, "theatre": 2}
        assert rules.preferred_event_types(counts) == ["concert", "comedy", "theatre"]

    def test_ties_are_broken_by_name(self):
        counts = {"theatre": 2, "comedy": 2, "concert": 2, "ballet": 2}
        assert rules.preferred_event_types(counts) == ["ballet", "comedy", "concert"]

    def test_empty_names_and_zero_counts_are_ignored(self):
        assert rules.preferred_event_types({"": 9, "opera": 1, "jazz": 0}) == ["opera"]

    def test_none_without_purchase(self):
        assert rules.preferred_event_types({}) == []


class TestPurchaseTime:
    @pytest.mark.parametrize(
        ("counts", "expected"),
        [
            ((3, 1, 1), "morning"),
            ((1, 3, 1), "afternoon"),
            ((1, 1, 3), "evening"),
            ((2, 2, 1), "morning"),  # ties go to the earlier bucket
            ((0, 2, 2), "afternoon"),
            ((2, 0, 2), "morning"),
            ((1, 1, 1), "morning"),
            ((0, 0, 1), "evening"),
        ],
    )
    def test_most_common_bucket(self, counts, expected):
        assert rules.purchase_time(*counts) == expected

    def test_none_without_purchase(self):
        assert rules.purchase_time(0, 0, 0) is None


def test_cents_to_decimal_keeps_two_decimals():
    assert str(rules.cents_to_decimal(0)) == "0.00"
    assert str(rules.cents_to_decimal(123_456)) == "1234.56"
    assert str(rules.cents_to_decimal(5)) == "0.05"


def test_as_of_in_another_zone_measures_the_same_instant():
    as_of_tokyo = AS_OF.astimezone(ZoneInfo("Asia/Tokyo"))
    last = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    assert rules.days_since(last, as_of_tokyo) == rules.days_since(last, AS_OF) == 30
