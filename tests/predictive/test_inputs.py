"""The models' inputs, defined once: x, t_x and T at day resolution, the repeat-only average
spend without zero-value occasions, refunds in proportion, and exact compression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from customer_intel.analytics import rules, vocabulary
from customer_intel.analytics.predictive import inputs


def _one(**fields):  # type: ignore[no-untyped-def]
    """Inputs of single-customer histories given as keyword lists."""
    histories = inputs.PurchaseHistories(
        **{name: np.array(fields[name]) for name in inputs.PurchaseHistories.__slots__}
    )
    return inputs.customer_inputs(
        histories=histories,
        net_cents=np.array(fields.get("net_cents", fields["gross_cents"])),
        as_of_day=fields.get("as_of_day", 100),
    )


def test_times_are_whole_days_in_weeks_and_a_non_buyer_has_x_minus_one() -> None:
    found = _one(
        first_day=[10, 0, 93],
        last_day=[45, 0, 93],
        purchase_days=[4, 0, 1],
        gross_cents=[4000, 0, 500],
        first_day_cents=[1000, 0, 500],
        paid_days=[4, 0, 1],
    )
    assert found.x.tolist() == [3.0, -1.0, 0.0]
    assert found.t_x.tolist() == pytest.approx([35 / 7, 0.0, 0.0])
    assert found.T.tolist() == pytest.approx([90 / 7, 0.0, 7 / 7])
    assert found.buyers.tolist() == [True, False, True]


def test_spend_averages_repeat_occasions_only_and_leaves_out_free_ones() -> None:
    # First day 30.00; repeat days 20.00, 0.00 (free tickets) and 40.00.
    found = _one(
        first_day=[0],
        last_day=[30],
        purchase_days=[4],
        gross_cents=[9000],
        first_day_cents=[3000],
        paid_days=[3],
    )
    assert found.spend_transactions.tolist() == [2.0]
    assert found.spend_average.tolist() == [30.0]


def test_a_free_first_day_is_not_a_paid_repeat_occasion_to_take_away() -> None:
    found = _one(
        first_day=[0],
        last_day=[30],
        purchase_days=[3],
        gross_cents=[5000],
        first_day_cents=[0],
        paid_days=[2],
    )
    assert found.spend_transactions.tolist() == [2.0]
    assert found.spend_average.tolist() == [25.0]


def test_refunds_reduce_the_repeat_value_in_proportion() -> None:
    # Gross 100.00 of which 25.00 on the first day; 20.00 refunded: net 80.00, of which the
    # repeat days' share (3/4) is 60.00 over 3 paid repeat days.
    found = _one(
        first_day=[0],
        last_day=[50],
        purchase_days=[4],
        gross_cents=[10_000],
        first_day_cents=[2500],
        paid_days=[4],
        net_cents=[rules.total_spent_cents(10_000, 2000)],
    )
    assert found.spend_transactions.tolist() == [3.0]
    assert found.spend_average.tolist() == pytest.approx([20.0])


def test_repeat_net_cents_round_half_up_to_the_cent() -> None:
    got = inputs.repeat_net_cents(
        net_cents=np.array([1001.0, 999.0, 0.0]),
        gross_cents=np.array([2000.0, 1000.0, 0.0]),
        first_day_cents=np.array([1000.0, 333.0, 0.0]),
    )
    # 1001 * 1000 / 2000 = 500.5 -> 501; 999 * 667 / 1000 = 666.333 -> 666; nothing -> 0.
    assert got.tolist() == [501.0, 666.0, 0.0]


def test_net_spend_is_the_audit_rule_for_arrays() -> None:
    gross = np.array([0, 500, 1000, 1000])
    refunds = np.array([0, 700, 300, 1000])
    assert inputs.net_spent_cents(gross, refunds).tolist() == [
        rules.total_spent_cents(int(g), int(r)) for g, r in zip(gross, refunds, strict=True)
    ]


def test_purchases_after_the_as_of_day_are_refused() -> None:
    with pytest.raises(ValueError, match="between the first purchase day and the as-of day"):
        _one(
            first_day=[10],
            last_day=[120],
            purchase_days=[2],
            gross_cents=[100],
            first_day_cents=[50],
            paid_days=[2],
        )


def test_histories_from_a_day_log_with_a_cutoff() -> None:
    histories = inputs.histories_from_days(
        customer=np.array([1, 0, 0, 1, 0, 2]),
        day=np.array([20, 12, 3, 5, 30, 40]),
        cents=np.array([700, 0, 1500, 900, 2500, 100]),
        customers=4,
        upto_day=25,
    )
    assert histories.first_day.tolist() == [3, 5, 0, 0]
    assert histories.last_day.tolist() == [12, 20, 0, 0]
    assert histories.purchase_days.tolist() == [2, 2, 0, 0]
    assert histories.gross_cents.tolist() == [1500, 1600, 0, 0]
    assert histories.first_day_cents.tolist() == [1500, 900, 0, 0]
    assert histories.paid_days.tolist() == [1, 2, 0, 0]
    holdout = inputs.days_between(
        customer=np.array([1, 0, 0, 1, 0, 2]),
        day=np.array([20, 12, 3, 5, 30, 40]),
        customers=4,
        after_day=25,
        upto_day=40,
    )
    assert holdout.tolist() == [1.0, 0.0, 1.0, 0.0]


def test_local_days_follow_the_venue_time_zone_through_daylight_saving() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    # Around the April 2026 change (03:00 -> 02:00 local) and plain UTC midnights.
    start = datetime(2026, 4, 4, 12, 0, tzinfo=UTC)
    instants = [start + timedelta(minutes=37 * k) for k in range(200)]
    expected = [vocabulary.local_day_number(moment, sydney) for moment in instants]
    assert inputs.local_day_numbers(instants, sydney).tolist() == expected
    assert inputs.local_day_numbers([None, instants[0]], sydney).tolist() == [-1, expected[0]]
    # 23:30 UTC on 4 April is 10:30 on 5 April in Sydney.
    late = datetime(2026, 4, 4, 23, 30, tzinfo=UTC)
    assert vocabulary.local_day_number(late, sydney) - vocabulary.local_day_number(late, UTC) == 1


def test_compression_is_exact_and_keeps_the_weights() -> None:
    x = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    t_x = np.array([0.0, 3 / 7, 3 / 7, 0.0, 4 / 7])
    T = np.array([5 / 7, 10 / 7, 10 / 7, 5 / 7, 10 / 7])
    triples = inputs.compress_customers(x, t_x, T, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    columns = (triples.x, triples.t_x, triples.T, triples.weights)
    rows = sorted(zip(*(column.tolist() for column in columns), strict=True))
    assert rows == [(0.0, 0.0, 5 / 7, 5.0), (1.0, 3 / 7, 10 / 7, 5.0), (1.0, 4 / 7, 10 / 7, 5.0)]


def test_grouping_finds_every_rows_distinct_values() -> None:
    triples = inputs.compress_customers(
        np.array([0.0, 2.0, 2.0, 5.0]),
        np.array([0.0, 1.0, 3.0, 3.0]),
        np.array([4.0, 4.0, 6.0, 6.0]),
    )
    grouping = inputs.Grouping(triples)
    assert grouping.x_values[grouping.x_index].tolist() == triples.x.tolist()
    assert grouping.times[grouping.t_x_index].tolist() == triples.t_x.tolist()
    assert grouping.times[grouping.T_index].tolist() == triples.T.tolist()
    assert grouping.pair_x[grouping.t_x_pair].tolist() == triples.x.tolist()
    assert grouping.pair_t[grouping.t_x_pair].tolist() == triples.t_x.tolist()
    assert grouping.pair_t[grouping.T_pair].tolist() == triples.T.tolist()
    assert grouping.share.sum() == pytest.approx(1.0)
