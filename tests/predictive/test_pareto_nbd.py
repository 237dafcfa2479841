"""Pareto/NBD: likelihood against an independent quadrature of its integral (extreme x, t_x and
T included), exact gradient, parameter recovery, refusals, P(alive), conditional expectations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import gammaln, hyp2f1

from customer_intel.analytics.predictive import inputs, pareto_nbd, simulate
from customer_intel.analytics.predictive.inputs import Grouping, compress_customers
from customer_intel.analytics.predictive.models import PARETO_NBD

CDNOW = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
TRUE = {"r": 0.5, "alpha": 8.0, "s": 0.8, "beta": 60.0}
# Purchase and lifetime scales far apart put z = |alpha-beta|/(max+t) near 1, where the
# likelihood is computed by quadrature instead of the series.
FAR_APART = {"r": 0.6, "alpha": 3.0, "s": 40.0, "beta": 9000.0}


def _reference_log_likelihood(params: dict[str, float], x: float, t_x: float, T: float) -> float:
    """log L from the model's definition (Fader & Hardie 2005 note, eq. 19), integrating the
    lapse-in-(t_x, T] part with scipy's adaptive quadrature, scaled so nothing under- or
    overflows, with no hypergeometric function at all."""
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))

    def log_f(tau: float) -> float:
        return -(r + x) * math.log(alpha + tau) - (s + 1) * math.log(beta + tau)

    common = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    alive = -(r + x) * math.log(alpha + T) - s * math.log(beta + T)
    if t_x >= T:
        return float(common + alive)
    scaled, _error = quad(
        lambda tau: math.exp(log_f(tau) - log_f(t_x)), t_x, T, epsabs=0, epsrel=1e-13, limit=500
    )
    lapsed = math.log(s) + log_f(t_x) + math.log(scaled)
    return float(common + np.logaddexp(alive, lapsed))


CASES = [
    (0, 0.0, 30.0),
    (1, 5.5, 40.0),
    (2, 30.43, 38.86),
    (7, 70.0, 80.0),
    (5, 99.99, 100.0),  # t_x just short of T
    (0, 0.0, 0.0),  # first purchase on the as-of day
    (400, 150.0, 156.0),  # extreme x
    (3, 0.001, 5000.0),  # a century of silence
    (60, 4000.0, 5200.0),
]


@pytest.mark.parametrize("params", [CDNOW, TRUE, FAR_APART], ids=["cdnow", "true", "far"])
@pytest.mark.parametrize(("x", "t_x", "T"), CASES)
def test_log_likelihood_matches_the_definition(params, x: int, t_x: float, T: float) -> None:
    expected = _reference_log_likelihood(params, x, t_x, T)
    got = PARETO_NBD.log_likelihood_terms(params, np.array([x]), np.array([t_x]), np.array([T]))
    assert got[0] == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_the_series_and_the_quadrature_of_g_agree_where_both_apply() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 80, 500).astype(float)
    t = rng.uniform(0, 200, 500)
    for params in ({"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}, TRUE, {**TRUE, "alpha": 90}):
        r, alpha, s, beta = (params[k] for k in pareto_nbd.PARAM_NAMES)
        series_value, series_gradient = pareto_nbd._log_g_series(r, alpha, s, beta, x, t)
        quadrature_value, quadrature_gradient = pareto_nbd.log_g_by_quadrature(
            r, alpha, s, beta, x, t
        )
        assert quadrature_value == pytest.approx(series_value, rel=1e-12, abs=1e-11)
        assert quadrature_gradient == pytest.approx(series_gradient, rel=1e-9, abs=1e-11)


def test_the_quadrature_is_right_where_scipys_hypergeometric_gives_up() -> None:
    # z = 0.99927 with upper parameters near 430: scipy.special.hyp2f1 returns NaN here.
    r, alpha, s, beta = 0.536, 15.955, 426.0, 22026.0
    z = (beta - alpha) / (beta + 0.0)
    assert math.isnan(hyp2f1(1.0, s + 1, r + s + 1, z))
    params = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    for x, t_x, T in [(0, 0.0, 10.0), (3, 2.0, 60.0), (40, 100.0, 150.0)]:
        got = PARETO_NBD.log_likelihood_terms(params, np.array([x]), np.array([t_x]), np.array([T]))
        assert got[0] == pytest.approx(_reference_log_likelihood(params, x, t_x, T), rel=1e-9)


@pytest.mark.parametrize("params", [TRUE, {**TRUE, "alpha": 90.0}, FAR_APART])
def test_analytic_gradient_matches_finite_differences(params) -> None:
    first_days = np.random.default_rng(3).integers(0, 700, 3000)
    log = simulate.simulate_day_log(
        model="pareto_nbd", params=TRUE, first_days=first_days, end_day=700, seed=4
    )
    x, t_x, T = _summary(log, end_day=700)
    grouping = Grouping(compress_customers(x, t_x, T))
    mean_nll = pareto_nbd.mean_nll(grouping)
    point = np.log([params[k] for k in pareto_nbd.PARAM_NAMES])
    value, gradient = mean_nll(point)
    assert value == pytest.approx(-PARETO_NBD.log_likelihood_terms(params, x, t_x, T).mean())
    step = 1e-6
    for i in range(4):
        shift = np.zeros(4)
        shift[i] = step
        numeric = (mean_nll(point + shift)[0] - mean_nll(point - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def _summary(log: simulate.DayLog, *, end_day: int):  # type: ignore[no-untyped-def]
    histories = inputs.histories_from_days(
        customer=log.customer, day=log.day, cents=log.cents, customers=log.customers
    )
    found = inputs.customer_inputs(
        histories=histories, net_cents=histories.gross_cents, as_of_day=end_day
    )
    return found.x, found.t_x, found.T


def test_fit_recovers_each_parameter() -> None:
    rng = np.random.default_rng(7)
    ages = rng.integers(182, 1092, 200_000) / 7.0
    x, t_x, T = simulate.simulate_pareto_nbd(size=200_000, observation=ages, seed=8, **TRUE)
    # Whole days, as the service sees them: the first purchase at a random time of its day.
    t_x = np.minimum(np.floor(t_x * 7 + rng.uniform(0, 1, len(t_x))) / 7, T)

    result = PARETO_NBD.fit_triples(compress_customers(x, t_x, T))

    assert result.usable, result.reason
    errors = result.diagnostics["log_param_standard_errors"]
    for name, true_value in TRUE.items():
        # Within three standard errors, each under 5%: a check with power.
        assert abs(math.log(result.params[name] / true_value)) < 3 * errors[name], name
        assert errors[name] < 0.05


def test_too_few_repeat_customers_is_refused_without_fitting() -> None:
    x = np.array([1.0] * 154 + [0.0] * 5000)
    result = PARETO_NBD.fit_triples(
        compress_customers(x, np.where(x > 0, 3.0, 0.0), np.full(len(x), 20.0))
    )
    assert not result.usable
    assert result.reason == "not enough repeat customers (154 < 200)"


def test_data_without_any_sign_of_lapsing_is_refused() -> None:
    # Everyone buys every week up to the end: no lifetime ends in the data.
    T = np.repeat(np.arange(10.0, 60.0), 20)
    result = PARETO_NBD.fit_triples(compress_customers(T.copy(), T.copy(), T))
    assert not result.usable
    assert "bound" in result.reason or "dropout vanishes" in result.reason


def test_probability_alive_lets_one_time_buyers_lapse_and_falls_with_silence() -> None:
    T = np.array([1.0, 10.0, 52.0, 156.0])
    one_time = PARETO_NBD.probability_alive(TRUE, np.zeros(4), np.zeros(4), T)
    assert np.all(np.diff(one_time) < 0) and one_time[0] < 1.0 and one_time[-1] < 0.5
    # The alive share of the likelihood, from the definition.
    r, alpha, s, beta = (TRUE[k] for k in pareto_nbd.PARAM_NAMES)

    def lapse_density(tau: float) -> float:
        return s * (alpha + tau) ** -r * (beta + tau) ** -(s + 1)

    for age, p_alive in zip(T, one_time, strict=True):
        alive = math.exp(-r * math.log(alpha + age) - s * math.log(beta + age))
        lapsed, _ = quad(lapse_density, 0, age)
        assert p_alive == pytest.approx(alive / (alive + lapsed), rel=1e-9)
    # A repeat buyer seen recently is more likely alive than one silent for as long.
    recent = PARETO_NBD.probability_alive(
        TRUE, np.array([5.0]), np.array([150.0]), np.array([156.0])
    )
    assert recent[0] > one_time[-1]


def test_conditional_expectation_is_the_closed_form_and_continuous_at_s_equal_one() -> None:
    x, T = np.array([2.0]), np.array([40.0])
    r, alpha, s, beta = (TRUE[k] for k in pareto_nbd.PARAM_NAMES)
    t = 52.0
    closed = (
        (r + 2)
        * (beta + 40)
        / ((alpha + 40) * (s - 1))
        * (1 - ((beta + 40) / (beta + 40 + t)) ** (s - 1))
    )
    assert PARETO_NBD.expected_purchases_if_alive(TRUE, t, x, T)[0] == pytest.approx(closed)
    near = [
        PARETO_NBD.expected_purchases_if_alive({**TRUE, "s": value}, t, x, T)[0]
        for value in (1 - 1e-6, 1.0, 1 + 1e-6)
    ]
    assert near[1] == pytest.approx((near[0] + near[2]) / 2, rel=1e-6)
    assert PARETO_NBD.expected_purchases_if_alive(TRUE, 0.0, x, T)[0] == 0.0


def test_conditional_expectation_predicts_simulated_holdout_purchases() -> None:
    size, calibration_end, holdout = 100_000, 700, 364
    first_days = np.random.default_rng(9).integers(0, calibration_end, size)
    log = simulate.simulate_day_log(
        model="pareto_nbd",
        params=TRUE,
        first_days=first_days,
        end_day=calibration_end + holdout,
        seed=10,
    )
    histories = inputs.histories_from_days(
        customer=log.customer,
        day=log.day,
        cents=log.cents,
        customers=size,
        upto_day=calibration_end,
    )
    found = inputs.customer_inputs(
        histories=histories, net_cents=histories.gross_cents, as_of_day=calibration_end
    )
    actual = inputs.days_between(
        customer=log.customer,
        day=log.day,
        customers=size,
        after_day=calibration_end,
        upto_day=calibration_end + holdout,
    )
    predicted = PARETO_NBD.expected_purchases(TRUE, holdout / 7, found.x, found.t_x, found.T)
    # Whole days merge same-day purchases, so the check allows a little more than sampling.
    assert predicted.sum() == pytest.approx(actual.sum(), rel=0.03)
    for low, high in [(0, 0), (1, 2), (3, 1000)]:
        group = (found.x >= low) & (found.x <= high)
        assert predicted[group].mean() == pytest.approx(actual[group].mean(), rel=0.06)
