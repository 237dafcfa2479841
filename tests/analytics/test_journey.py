"""The journey summary: first touch, first purchase, channels and 30-day click attribution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customer_intel.analytics.journey import (
    FirstPurchase,
    FirstTouch,
    JourneyEvent,
    PurchaseAttribution,
    summarize_journey,
)

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def click(at: datetime, campaign: str, channel: str = "email") -> JourneyEvent:
    return JourneyEvent("campaign.clicked", at, channel=channel, campaign=campaign)


def buy(at: datetime, amount: str = "50.00", channel: str = "") -> JourneyEvent:
    return JourneyEvent("ticket.purchased", at, Decimal(amount), "concert", channel=channel)


def view(at: datetime, channel: str = "") -> JourneyEvent:
    return JourneyEvent("page.viewed", at, channel=channel)


def attributions(events: list[JourneyEvent]) -> list[str | None]:
    return [a.campaign for a in summarize_journey(events).purchase_attributions]


def test_an_empty_journey():
    summary = summarize_journey([])
    assert summary.first_touch is None
    assert summary.first_purchase is None
    assert summary.touchpoints_before_first_purchase == 0
    assert summary.channels == []
    assert summary.purchase_attributions == []


def test_a_full_journey():
    events = [
        view(T0, channel="search"),
        click(T0 + DAY, "spring-sale", channel="email"),
        view(T0 + 2 * DAY, channel="search"),
        JourneyEvent("cart.added", T0 + 3 * DAY, channel="web"),
        buy(T0 + 3 * DAY + timedelta(hours=1), "120.00", channel="web"),
        JourneyEvent("ticket.scanned", T0 + 10 * DAY),
        click(T0 + 40 * DAY, "summer", channel="social"),
        buy(T0 + 41 * DAY, "80.00"),
    ]
    summary = summarize_journey(events)
    assert summary.first_touch == FirstTouch("page.viewed", T0, "search", "")
    assert summary.first_purchase == FirstPurchase(
        T0 + 3 * DAY + timedelta(hours=1), Decimal("120.00")
    )
    assert summary.touchpoints_before_first_purchase == 4
    assert summary.channels == ["search", "email", "web", "social"]
    assert summary.purchase_attributions == [
        PurchaseAttribution(T0 + 3 * DAY + timedelta(hours=1), Decimal("120.00"), "spring-sale"),
        PurchaseAttribution(T0 + 41 * DAY, Decimal("80.00"), "summer"),
    ]


def test_a_click_exactly_30_days_before_is_credited():
    assert attributions([click(T0, "a"), buy(T0 + 30 * DAY)]) == ["a"]


def test_a_click_30_days_and_a_second_before_is_not():
    assert attributions([click(T0, "a"), buy(T0 + 30 * DAY + timedelta(seconds=1))]) == [None]


def test_the_last_click_before_each_purchase_wins():
    events = [
        click(T0, "first"),
        click(T0 + DAY, "second"),
        buy(T0 + 2 * DAY),
        click(T0 + 3 * DAY, "third"),
        buy(T0 + 4 * DAY),
        buy(T0 + 5 * DAY),
        buy(T0 + 40 * DAY),  # "third" is now 37 days old
    ]
    assert attributions(events) == ["second", "third", "third", None]


def test_a_stale_last_click_does_not_fall_back_to_an_older_one():
    # Only the last click counts; an earlier click is older still.
    events = [click(T0, "old"), click(T0 + DAY, "latest"), buy(T0 + 31 * DAY + timedelta(hours=1))]
    assert attributions(events) == [None]


def test_a_click_after_the_purchase_is_not_credited():
    assert attributions([buy(T0), click(T0 + timedelta(seconds=1), "late")]) == [None]


def test_a_click_at_the_same_instant_counts_whichever_side_it_is_listed():
    assert attributions([buy(T0), click(T0, "same")]) == ["same"]
    assert attributions([click(T0, "same"), buy(T0)]) == ["same"]


def test_clicks_without_a_campaign_credit_nothing_and_hide_nothing():
    events = [click(T0, "named"), click(T0 + DAY, ""), buy(T0 + 2 * DAY)]
    assert attributions(events) == ["named"]
    assert attributions([click(T0, ""), buy(T0 + DAY)]) == [None]


def test_touchpoints_count_events_strictly_before_the_first_purchase():
    events = [view(T0), view(T0 + DAY), view(T0 + 2 * DAY), buy(T0 + 2 * DAY), view(T0 + 3 * DAY)]
    # The view at the purchase's own instant is not strictly before it.
    assert summarize_journey(events).touchpoints_before_first_purchase == 2


def test_a_purchase_first_has_no_touchpoints_before_it():
    summary = summarize_journey([buy(T0), view(T0 + DAY)])
    assert summary.touchpoints_before_first_purchase == 0
    assert summary.first_touch == FirstTouch("ticket.purchased", T0, "", "")


def test_without_a_purchase_every_event_is_a_touchpoint():
    summary = summarize_journey([view(T0), click(T0 + DAY, "x"), view(T0 + 2 * DAY)])
    assert summary.first_purchase is None
    assert summary.touchpoints_before_first_purchase == 3
    assert summary.purchase_attributions == []


def test_channels_are_distinct_in_order_of_first_use():
    events = [view(T0, "b"), view(T0 + DAY, ""), view(T0 + 2 * DAY, "a"), view(T0 + 3 * DAY, "b")]
    assert summarize_journey(events).channels == ["b", "a"]


def test_events_out_of_time_order_are_refused():
    with pytest.raises(ValueError, match="time order"):
        summarize_journey([view(T0 + DAY), view(T0)])


def test_a_long_journey_is_consumed_lazily_in_one_pass():
    count = 50_000
    consumed = 0

    def stream():
        nonlocal consumed
        for i in range(count):
            consumed += 1
            at = T0 + timedelta(hours=i)
            yield click(at, f"c{i}") if i % 2 == 0 else buy(at, "1.00")

    summary = summarize_journey(stream())
    assert consumed == count
    assert len(summary.purchase_attributions) == count // 2
    assert summary.purchase_attributions[-1].campaign == f"c{count - 2}"
    assert summary.touchpoints_before_first_purchase == 1
