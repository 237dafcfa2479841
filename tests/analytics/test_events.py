"""The reference aggregator: events → facts, including time zones and daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from customer_intel.analytics.events import EventRecord, amount_to_cents, facts_from_events
from customer_intel.analytics.profile import compute_profile
from tests.analytics.support import AS_OF, CUSTOMER

LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")


def purchase(at: datetime, amount: str = "10.00", quantity: int = 1, category: str = ""):
    return EventRecord("ticket.purchased", at, Decimal(amount), quantity, category)


def refund(at: datetime, amount: str, quantity: int = 1):
    return EventRecord("ticket.refunded", at, Decimal(amount), quantity, "")


def view(at: datetime):
    return EventRecord("page.viewed", at)


def facts(events, *, as_of=AS_OF, tz=UTC):
    return facts_from_events(CUSTOMER, events, as_of=as_of, tz=tz)


def test_totals_first_and_last_in_any_order():
    t = AS_OF - timedelta(days=10)
    result = facts(
        [
            purchase(t, "19.99", 2, "concert"),
            view(t - timedelta(days=5)),
            refund(t + timedelta(days=1), "9.99"),
            purchase(t - timedelta(days=3), "0.01", 1, "comedy"),
            EventRecord("ticket.scanned", t + timedelta(days=2)),
        ]
    )
    assert result is not None
    assert result.customer == CUSTOMER
    assert (result.first_seen, result.last_seen) == (t - timedelta(days=5), t + timedelta(days=2))
    assert (result.first_purchase_at, result.last_purchase_at) == (t - timedelta(days=3), t)
    assert (result.purchase_count, result.purchase_cents, result.purchase_quantity) == (2, 2000, 3)
    assert (result.refund_count, result.refund_cents, result.refund_quantity) == (1, 999, 1)
    assert result.category_counts == {"concert": 1, "comedy": 1}


def test_events_after_as_of_are_ignored_entirely():
    result = facts(
        [
            purchase(AS_OF, "5.00"),  # exactly at as-of counts
            purchase(AS_OF + timedelta(microseconds=1), "100.00"),
            refund(AS_OF + timedelta(days=1), "5.00"),
            view(AS_OF + timedelta(days=2)),
        ]
    )
    assert result is not None
    assert (result.purchase_count, result.purchase_cents, result.refund_cents) == (1, 500, 0)
    assert result.last_seen == result.last_purchase_at == AS_OF


def test_no_event_at_or_before_as_of_gives_nothing():
    assert facts([purchase(AS_OF + timedelta(seconds=1))]) is None
    assert facts([]) is None


def test_engagement_only_customer_has_no_purchase_facts():
    result = facts([view(AS_OF - timedelta(days=1))])
    assert result is not None
    assert result.purchase_count == 0
    assert result.first_purchase_at is None
    assert result.purchase_days == 0
    assert (result.morning_purchases, result.afternoon_purchases, result.evening_purchases) == (
        0,
        0,
        0,
    )


def test_amounts_become_cents_exactly():
    # 0.10 three times is 0.30 exactly; in floats it would be 0.30000000000000004.
    result = facts([purchase(AS_OF, "0.10"), purchase(AS_OF, "0.10"), purchase(AS_OF, "0.1")])
    assert result is not None
    assert result.purchase_cents == 30
    assert amount_to_cents(Decimal("123456789.99")) == 12_345_678_999
    assert amount_to_cents(Decimal("5")) == 500
    assert amount_to_cents(None) == 0


def test_sub_cent_amounts_are_refused():
    with pytest.raises(ValueError, match="two decimal places"):
        amount_to_cents(Decimal("1.005"))


def test_refunds_net_to_zero_not_below():
    result = facts([purchase(AS_OF, "10.00", 1), refund(AS_OF, "25.00", 3)])
    assert result is not None
    profile = compute_profile(result, as_of=AS_OF, currency="USD")
    assert profile.total_spent == Decimal("0.00")
    assert profile.total_tickets == 0
    assert profile.total_purchases == 1


class TestDaylightSaving:
    def test_spring_forward_moves_the_same_utc_hour_into_the_afternoon(self):
        # London is UTC+0 on 28 March 2026 and UTC+1 from 01:00 UTC on 29 March.
        before = datetime(2026, 3, 28, 11, 30, tzinfo=UTC)  # 11:30 GMT
        after = datetime(2026, 3, 29, 11, 30, tzinfo=UTC)  # 12:30 BST
        assert _bucket_of(before, LONDON) == "morning"
        assert _bucket_of(after, LONDON) == "afternoon"

    def test_fall_back_moves_the_same_utc_hour_out_of_the_evening(self):
        # London is UTC+1 until 01:00 UTC on 25 October 2026.
        before = datetime(2026, 10, 24, 16, 30, tzinfo=UTC)  # 17:30 BST
        after = datetime(2026, 10, 25, 16, 30, tzinfo=UTC)  # 16:30 GMT
        assert _bucket_of(before, LONDON) == "evening"
        assert _bucket_of(after, LONDON) == "afternoon"

    def test_the_ambiguous_hour_is_placed_by_its_instant(self):
        # 00:30 and 01:30 UTC on 25 October are both 01:xx local time.
        first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
        second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
        result = facts(
            [purchase(first), purchase(second)], as_of=datetime(2026, 11, 1, tzinfo=UTC), tz=LONDON
        )
        assert result is not None
        assert result.morning_purchases == 2
        assert result.purchase_days == 1


def _bucket_of(at: datetime, tz: ZoneInfo) -> str:
    result = facts([purchase(at)], as_of=datetime(2027, 1, 1, tzinfo=UTC), tz=tz)
    assert result is not None
    counts = {
        "morning": result.morning_purchases,
        "afternoon": result.afternoon_purchases,
        "evening": result.evening_purchases,
    }
    assert sum(counts.values()) == 1
    return next(bucket for bucket, count in counts.items() if count)


def test_purchase_days_are_distinct_local_dates():
    # 22:30 UTC on 1 June and 02:00 UTC on 2 June are both 2 June in Sydney (UTC+10),
    # but two different dates in UTC.
    events = [
        purchase(datetime(2026, 6, 1, 22, 30, tzinfo=UTC)),
        purchase(datetime(2026, 6, 2, 2, 0, tzinfo=UTC)),
        purchase(datetime(2026, 6, 2, 2, 0, tzinfo=UTC)),
        purchase(datetime(2026, 6, 5, 9, 0, tzinfo=UTC)),
    ]
    as_of = datetime(2026, 6, 10, tzinfo=UTC)
    sydney = facts(events, as_of=as_of, tz=SYDNEY)
    utc = facts(events, as_of=as_of, tz=UTC)
    assert sydney is not None and utc is not None
    assert sydney.purchase_days == 2
    assert utc.purchase_days == 3
    # Sydney local hours: 08:30, 12:00, 12:00, 19:00.
    assert (sydney.morning_purchases, sydney.afternoon_purchases, sydney.evening_purchases) == (
        1,
        2,
        1,
    )


def test_category_counts_skip_purchases_without_a_category():
    result = facts(
        [
            purchase(AS_OF, category="concert"),
            purchase(AS_OF, category="concert"),
            purchase(AS_OF, category=""),
            EventRecord("page.viewed", AS_OF, None, 1, "opera"),  # not a purchase
        ]
    )
    assert result is not None
    assert result.category_counts == {"concert": 2}


def test_events_through_to_a_profile():
    t = datetime(2026, 5, 1, 19, 0, tzinfo=UTC)
    result = facts(
        [
            view(t - timedelta(days=40)),
            purchase(datetime(2026, 4, 1, 9, 0, tzinfo=UTC), "120.00", 2, "comedy"),
            purchase(t, "80.50", 1, "concert"),
            purchase(t, "80.50", 1, "concert"),
            refund(t + timedelta(days=1), "80.50", 1),
        ],
        tz=LONDON,
    )
    assert result is not None
    profile = compute_profile(result, as_of=AS_OF, currency="USD")
    assert profile.total_spent == Decimal("200.50")
    assert profile.total_tickets == 3
    assert profile.average_order_value == Decimal("66.83")  # 200.50 / 3, half-up
    assert profile.purchase_frequency == 3.0
    assert profile.days_since_last_purchase == 30  # 19:00 on 1 May to 12:00 on 1 June
    assert profile.preferred_event_types == ["concert", "comedy"]
    assert profile.purchase_time == "evening"  # two at 20:00 BST against one at 10:00 BST
    assert profile.segment == "regular"
    assert profile.rfm_segment == "Recent Customers"  # code 533
