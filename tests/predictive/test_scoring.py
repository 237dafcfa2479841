"""Vectorized per-customer predictions: horizons, discounting, next order, edge rows, for each
purchase model."""

from __future__ import annotations

import numpy as np
import pytest

from customer_intel.analytics.predictive import gamma_gamma, scoring
from customer_intel.analytics.predictive.inputs import CustomerInputs
from customer_intel.analytics.predictive.models import BGNBD, MBGNBD, MODELS, PARETO_NBD

PARAMS = {
    "bgnbd": {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0},
    "mbgnbd": {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0},
    "pareto_nbd": {"r": 0.5, "alpha": 8.0, "s": 0.8, "beta": 60.0},
}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}
EACH_MODEL = pytest.mark.parametrize("name", list(MODELS))

# x (purchase days - 1; -1 = no purchase), t_x and T in days, the paid repeat occasions and
# their average value.
X = np.array([-1.0, 0.0, 0.0, 3.0, 3.0, 12.0, 40.0, 2.0])
RECENCY_DAYS = np.array([0.0, 0.0, 0.0, 200.0, 60.0, 350.0, 360.0, 20.0])
AGE_DAYS = np.array([0.0, 10.0, 700.0, 210.0, 700.0, 365.0, 365.0, 900.0])
CUSTOMERS = CustomerInputs(
    x=X,
    t_x=RECENCY_DAYS / 7.0,
    T=AGE_DAYS / 7.0,
    spend_transactions=np.maximum(X, 0.0),
    spend_average=np.array([0.0, 0.0, 0.0, 80.0, 80.0, 120.0, 45.0, 10.0]),
)


def _predict(name: str = "bgnbd", rate: float = 0.10, spend=GAMMA_GAMMA, customers=CUSTOMERS):  # type: ignore[no-untyped-def]
    return scoring.predict_customers(
        model=MODELS[name],
        params=PARAMS[name],
        gamma_gamma_params=spend,
        inputs=customers,
        annual_discount_rate=rate,
    )


def _expected(days: float, name: str = "bgnbd") -> np.ndarray:
    scored = X >= 0
    return MODELS[name].expected_purchases(
        PARAMS[name], days / 7.0, X[scored], RECENCY_DAYS[scored] / 7.0, AGE_DAYS[scored] / 7.0
    )


@EACH_MODEL
def test_a_customer_without_purchase_gets_no_prediction(name: str) -> None:
    predictions = _predict(name)
    for name in scoring.Predictions.__slots__:
        assert np.isnan(getattr(predictions, name)[0]), name
    for name in ("probability_alive", "expected_purchases_365d", "predicted_clv_3y"):
        assert np.all(np.isfinite(getattr(predictions, name)[1:])), name


@EACH_MODEL
def test_horizons_are_the_conditional_expectations_in_days(name: str) -> None:
    predictions = _predict(name)
    for field, days in [
        ("expected_purchases_30d", 30.0),
        ("expected_purchases_90d", 90.0),
        ("expected_purchases_365d", 365.0),
        ("expected_purchases_3y", 1095.0),
    ]:
        assert getattr(predictions, field)[1:] == pytest.approx(_expected(days, name), rel=1e-12)


def test_bgnbd_keeps_one_time_buyers_alive_and_the_others_let_them_lapse() -> None:
    assert _predict("bgnbd").probability_alive[[1, 2]].tolist() == [1.0, 1.0]
    for name in ("mbgnbd", "pareto_nbd"):
        p_alive = _predict(name).probability_alive
        # Bought once, 700 days ago: most likely gone; 10 days ago: most likely not.
        assert p_alive[2] < 0.6 < p_alive[1] < 1.0, name
    for name in MODELS:
        # Same history, much longer silence: less likely alive.
        p_alive = _predict(name).probability_alive
        assert p_alive[4] < p_alive[3], name


@EACH_MODEL
def test_undiscounted_value_is_expected_purchases_times_expected_spend(name: str) -> None:
    predictions = _predict(name, rate=0.0)
    scored = X >= 0
    spend = gamma_gamma.expected_average_value(
        GAMMA_GAMMA, CUSTOMERS.spend_transactions[scored], CUSTOMERS.spend_average[scored]
    )
    assert predictions.expected_purchase_value[1:] == pytest.approx(spend)
    # A customer with no paid repeat occasion is valued at the venue's mean.
    assert spend[0] == pytest.approx(GAMMA_GAMMA["p"] * GAMMA_GAMMA["v"] / (GAMMA_GAMMA["q"] - 1))
    expected_365 = _expected(365.0, name) * spend
    assert predictions.predicted_clv_365d[1:] == pytest.approx(expected_365, rel=1e-9)
    expected_3y = _expected(1095.0, name) * spend
    assert predictions.predicted_clv_3y[1:] == pytest.approx(expected_3y, rel=1e-9)


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
    dated = np.isfinite(scored_days)
    expected_at_date = BGNBD.expected_purchases(
        PARAMS["bgnbd"],
        scored_days[dated] / 7.0,
        X[1:][dated],
        RECENCY_DAYS[1:][dated] / 7.0,
        AGE_DAYS[1:][dated] / 7.0,
    )
    assert expected_at_date == pytest.approx(np.ones_like(expected_at_date), abs=1e-6)
    # Within 30 days exactly when a purchase is expected within 30 days.
    within_30 = np.where(has_date, days <= 30, False)
    assert np.array_equal(within_30[1:], predictions.expected_purchases_30d[1:] >= 1)
    # No date without an expected purchase in three years.
    assert np.all(np.isnan(days[1:][predictions.expected_purchases_3y[1:] < 1]))


def test_next_order_is_empty_for_customers_probably_gone() -> None:
    predictions = _predict(
        customers=CustomerInputs(
            x=np.array([60.0, 60.0]),
            t_x=np.array([300.0, 300.0]) / 7,
            T=np.array([301.0, 1000.0]) / 7,
            spend_transactions=np.array([60.0, 60.0]),
            spend_average=np.array([50.0, 50.0]),
        )
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


@EACH_MODEL
def test_scoring_is_vectorized_over_large_chunks(name: str) -> None:
    size = 10_000
    rng = np.random.default_rng(0)
    age = rng.integers(0, 1000, size).astype(float)
    recency = np.floor(age * rng.uniform(0, 1, size))
    x = rng.poisson(3, size).astype(float)
    customers = CustomerInputs(
        x=x,
        t_x=np.where(x > 0, recency, 0.0) / 7,
        T=age / 7,
        spend_transactions=x,
        spend_average=rng.gamma(2, 30, size),
    )
    predictions = _predict(name, customers=customers)
    assert np.all(np.isfinite(predictions.predicted_clv_3y))
    assert np.all((predictions.probability_alive > 0) & (predictions.probability_alive <= 1))
    # Scored one by one, the same customers get the same figures.
    for i in (0, 4321, 9999):
        one = CustomerInputs(
            *(np.asarray(getattr(customers, f))[i : i + 1] for f in CustomerInputs.__slots__)
        )
        alone = _predict(name, customers=one)
        assert alone.predicted_clv_3y[0] == pytest.approx(
            predictions.predicted_clv_3y[i], rel=1e-12
        )


def test_the_models_are_the_ones_named() -> None:
    assert (MODELS["bgnbd"], MODELS["mbgnbd"], MODELS["pareto_nbd"]) == (BGNBD, MBGNBD, PARETO_NBD)
