"""Vectorized per-customer predictions: horizons, discounting, next order, edge rows."""

from __future__ import annotations

import numpy as np
import pytest

from customer_intel.analytics.predictive import bgnbd, gamma_gamma, scoring

BGNBD = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}

# x (purchase days - 1; -1 = no purchase), t_x and T in days, net value per purchase day.
CUSTOMERS = {
    "repeat_purchases": np.array([-1.0, 0.0, 0.0, 3.0, 3.0, 12.0, 40.0, 2.0]),
    "recency_days": np.array([0.0, 0.0, 0.0, 200.0, 60.0, 350.0, 360.0, 20.0]),
    "age_days": np.array([0.0, 10.0, 700.0, 210.0, 700.0, 365.0, 365.0, 900.0]),
    "average_value": np.array([0.0, 50.0, 20.0, 80.0, 80.0, 120.0, 45.0, 10.0]),
}


def _predict(rate: float = 0.10, spend: dict[str, float] | None = GAMMA_GAMMA):
    return scoring.predict_customers(
        bgnbd_params=BGNBD, gamma_gamma_params=spend, annual_discount_rate=rate, **CUSTOMERS
    )


def _expected(days: float) -> np.ndarray:
    scored = CUSTOMERS["repeat_purchases"] >= 0
    return bgnbd.expected_purchases(
        BGNBD,
        days / 7.0,
        CUSTOMERS["repeat_purchases"][scored],
        CUSTOMERS["recency_days"][scored] / 7.0,
        CUSTOMERS["age_days"][scored] / 7.0,
    )


def test_a_customer_without_purchase_gets_no_prediction() -> None:
    predictions = _predict()
    for name in scoring.Predictions.__slots__:
        assert np.isnan(getattr(predictions, name)[0]), name
    for name in ("probability_alive", "expected_purchases_365d", "predicted_clv_3y"):
        assert np.all(np.isfinite(getattr(predictions, name)[1:])), name


def test_horizons_are_the_conditional_expectations_in_days() -> None:
    predictions = _predict()
    assert predictions.expected_purchases_30d[1:] == pytest.approx(_expected(30.0), rel=1e-12)
    assert predictions.expected_purchases_90d[1:] == pytest.approx(_expected(90.0), rel=1e-12)
    assert predictions.expected_purchases_365d[1:] == pytest.approx(_expected(365.0), rel=1e-12)
    assert predictions.expected_purchases_3y[1:] == pytest.approx(_expected(1095.0), rel=1e-12)


def test_probability_alive_is_one_for_customers_who_never_bought_again() -> None:
    predictions = _predict()
    assert predictions.probability_alive[1] == 1.0
    assert predictions.probability_alive[2] == 1.0
    # Same history, much longer silence: less likely alive.
    assert predictions.probability_alive[4] < predictions.probability_alive[3]


def test_undiscounted_value_is_expected_purchases_times_expected_spend() -> None:
    predictions = _predict(rate=0.0)
    scored = CUSTOMERS["repeat_purchases"] >= 0
    spend = gamma_gamma.expected_average_value(
        GAMMA_GAMMA,
        CUSTOMERS["repeat_purchases"][scored] + 1,
        CUSTOMERS["average_value"][scored],
    )
    assert predictions.predicted_clv_365d[1:] == pytest.approx(_expected(365.0) * spend, rel=1e-9)
    assert predictions.predicted_clv_3y[1:] == pytest.approx(_expected(1095.0) * spend, rel=1e-9)


def test_discounted_value_matches_a_daily_discounting_reference() -> None:
    rate = 0.10
    predictions = _predict(rate=rate)
    days = np.arange(1.0, 1096.0)
    cumulative = np.stack([_expected(day) for day in days])
    daily = np.diff(cumulative, axis=0, prepend=0.0)
    factors = (1 + rate) ** -((days - 0.5) / 365.0)
    spend = predictions.expected_purchase_value[1:]
    reference_1y = (factors[:365, None] * daily[:365]).sum(axis=0) * spend
    reference_3y = (factors[:, None] * daily).sum(axis=0) * spend
    assert predictions.predicted_clv_365d[1:] == pytest.approx(reference_1y, rel=1e-3)
    assert predictions.predicted_clv_3y[1:] == pytest.approx(reference_3y, rel=1e-3)


def test_value_falls_as_the_discount_rate_rises() -> None:
    values = [_predict(rate=rate) for rate in (0.0, 0.05, 0.10, 0.25, 1.0)]
    for horizon in ("predicted_clv_365d", "predicted_clv_3y"):
        series = np.stack([getattr(v, horizon)[1:] for v in values])
        assert np.all(np.diff(series, axis=0) < 0), horizon
    three_years = values[2].predicted_clv_3y[1:]
    assert np.all(three_years > values[2].predicted_clv_365d[1:])


def test_negative_discount_rate_is_rejected() -> None:
    with pytest.raises(ValueError, match="annual_discount_rate"):
        _predict(rate=-0.01)


def test_next_order_is_when_one_purchase_is_expected() -> None:
    predictions = _predict()
    days = predictions.days_to_next_order
    has_date = np.isfinite(days)
    assert has_date.any(), "the frequent buyers have a next order date"
    scored_days = days[1:]
    expected_at_date = bgnbd.expected_purchases(
        BGNBD,
        scored_days[np.isfinite(scored_days)] / 7.0,
        CUSTOMERS["repeat_purchases"][1:][np.isfinite(scored_days)],
        CUSTOMERS["recency_days"][1:][np.isfinite(scored_days)] / 7.0,
        CUSTOMERS["age_days"][1:][np.isfinite(scored_days)] / 7.0,
    )
    assert expected_at_date == pytest.approx(np.ones_like(expected_at_date), abs=1e-6)
    # Within 30 days exactly when a purchase is expected within 30 days.
    within_30 = np.where(has_date, days <= 30, False)
    assert np.array_equal(within_30[1:], predictions.expected_purchases_30d[1:] >= 1)
    # No date without an expected purchase in three years.
    assert np.all(np.isnan(days[1:][predictions.expected_purchases_3y[1:] < 1]))


def test_next_order_is_empty_for_customers_probably_gone() -> None:
    predictions = scoring.predict_customers(
        bgnbd_params=BGNBD,
        gamma_gamma_params=GAMMA_GAMMA,
        repeat_purchases=np.array([60.0, 60.0]),
        recency_days=np.array([300.0, 300.0]),
        age_days=np.array([301.0, 1000.0]),
        average_value=np.array([50.0, 50.0]),
        annual_discount_rate=0.1,
    )
    assert np.isfinite(predictions.days_to_next_order[0])
    assert predictions.probability_alive[1] < scoring.MIN_PROBABILITY_ALIVE_FOR_NEXT_ORDER
    assert np.isnan(predictions.days_to_next_order[1])


def test_average_days_between_orders_is_for_repeat_buyers_only() -> None:
    between = _predict().average_days_between_orders
    assert np.isnan(between[1]) and np.isnan(between[2])
    assert between[3] == pytest.approx(200.0 / 3)
    assert between[5] == pytest.approx(350.0 / 12)


def test_without_a_spend_model_values_are_empty_and_purchases_are_not() -> None:
    predictions = _predict(spend=None)
    assert np.all(np.isnan(predictions.predicted_clv_365d))
    assert np.all(np.isfinite(predictions.expected_purchases_365d[1:]))


def test_scoring_is_vectorized_over_large_chunks() -> None:
    size = 10_000
    rng = np.random.default_rng(0)
    age = rng.uniform(0, 1000, size)
    recency = age * rng.uniform(0, 1, size)
    x = rng.poisson(3, size).astype(float)
    predictions = scoring.predict_customers(
        bgnbd_params=BGNBD,
        gamma_gamma_params=GAMMA_GAMMA,
        repeat_purchases=x,
        recency_days=np.where(x > 0, recency, 0.0),
        age_days=age,
        average_value=rng.gamma(2, 30, size),
        annual_discount_rate=0.1,
    )
    assert np.all(np.isfinite(predictions.predicted_clv_3y))
    assert np.all((predictions.probability_alive > 0) & (predictions.probability_alive <= 1))
