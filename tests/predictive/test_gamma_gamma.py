"""Gamma-Gamma: likelihood by hand, parameter recovery, refusals, conditional mean."""

from __future__ import annotations

import math

import numpy as np
import pytest

from customer_intel.analytics.predictive import gamma_gamma, simulate
from customer_intel.analytics.predictive.fitting import MIN_REPEAT_CUSTOMERS

TRUE = {"p": 6.0, "q": 4.0, "v": 15.0}


def _transactions(size: int, seed: int) -> np.ndarray:
    return 2 + np.random.default_rng(seed).poisson(3.0, size).astype(float)


def _hand_density(params: dict[str, float], n: int, m: float) -> float:
    """Fader & Hardie (2013), eq. (3): the density of a customer's mean of n transactions."""
    p, q, v = params["p"], params["q"], params["v"]
    return (
        math.gamma(p * n + q)
        / (math.gamma(p * n) * math.gamma(q))
        * v**q
        * m ** (p * n - 1)
        * n ** (p * n)
        / (v + n * m) ** (p * n + q)
    )


@pytest.mark.parametrize(("n", "m"), [(1, 35.0), (2, 12.5), (4, 80.0), (7, 3.2)])
def test_log_likelihood_matches_the_formula_by_hand(n: int, m: float) -> None:
    params = {"p": 6.25, "q": 3.74, "v": 15.44}
    expected = math.log(_hand_density(params, n, m))
    got = gamma_gamma.log_likelihood_terms(params, np.array([n]), np.array([m]))[0]
    assert got == pytest.approx(expected, rel=1e-10)


def test_analytic_gradient_matches_finite_differences() -> None:
    n = _transactions(2000, seed=1)
    m = simulate.simulate_gamma_gamma(transactions=n, seed=2, **TRUE)
    mean_nll = gamma_gamma._mean_nll(n, m / m.mean(), np.ones(len(n)))
    point = np.log([4.0, 3.0, 0.7])
    _value, gradient = mean_nll(point)
    for i in range(3):
        shift = np.zeros(3)
        shift[i] = 1e-6
        numeric = (mean_nll(point + shift)[0] - mean_nll(point - shift)[0]) / 2e-6
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_fit_recovers_each_parameter_within_five_percent() -> None:
    # p and v are strongly correlated; a million repeat buyers make 5% three standard errors.
    n = _transactions(1_000_000, seed=3)
    m = simulate.simulate_gamma_gamma(transactions=n, seed=4, **TRUE)

    result = gamma_gamma.fit_gamma_gamma(*gamma_gamma.compress_values(n, m))

    assert result.usable, result.reason
    assert result.n_customers == 1_000_000
    for name, true_value in TRUE.items():
        assert result.params[name] == pytest.approx(true_value, rel=0.05), name
        assert result.diagnostics["log_param_standard_errors"][name] < 0.02


def test_binning_values_barely_moves_the_fit() -> None:
    n = _transactions(5000, seed=5)
    m = simulate.simulate_gamma_gamma(transactions=n, seed=6, **TRUE)
    exact = gamma_gamma.fit_gamma_gamma(n, m)
    binned = gamma_gamma.fit_gamma_gamma(*gamma_gamma.compress_values(n, m))
    for name in TRUE:
        assert binned.params[name] == pytest.approx(exact.params[name], rel=1e-3)
    assert binned.log_likelihood == pytest.approx(exact.log_likelihood, rel=1e-3)


def test_money_unit_does_not_change_the_shape_parameters() -> None:
    n = _transactions(5000, seed=7)
    m = simulate.simulate_gamma_gamma(transactions=n, seed=8, **TRUE)
    in_units = gamma_gamma.fit_gamma_gamma(n, m)
    in_cents = gamma_gamma.fit_gamma_gamma(n, m * 100)
    assert in_cents.params["p"] == pytest.approx(in_units.params["p"], rel=1e-5)
    assert in_cents.params["q"] == pytest.approx(in_units.params["q"], rel=1e-5)
    assert in_cents.params["v"] == pytest.approx(in_units.params["v"] * 100, rel=1e-5)


def test_non_positive_spend_is_left_out() -> None:
    n = _transactions(1000, seed=9)
    m = simulate.simulate_gamma_gamma(transactions=n, seed=10, **TRUE)
    with_refunds = gamma_gamma.fit_gamma_gamma(
        np.concatenate([n, [3.0, 2.0, 5.0]]), np.concatenate([m, [0.0, -20.0, np.nan]])
    )
    assert with_refunds.n_customers == 1000
    assert with_refunds.params == gamma_gamma.fit_gamma_gamma(n, m).params


def test_too_few_customers_is_refused() -> None:
    n = _transactions(MIN_REPEAT_CUSTOMERS - 1, seed=11)
    m = simulate.simulate_gamma_gamma(transactions=n, seed=12, **TRUE)
    result = gamma_gamma.fit_gamma_gamma(n, m)
    assert not result.usable
    assert result.reason == (
        f"not enough repeat customers with spend "
        f"({MIN_REPEAT_CUSTOMERS - 1} < {MIN_REPEAT_CUSTOMERS})"
    )


def test_q_at_most_one_is_refused_because_expected_spend_is_undefined() -> None:
    # Spend levels so spread across customers (q = 0.6) that the mean of the population's
    # spend per purchase does not exist.
    n = _transactions(20_000, seed=13)
    m = simulate.simulate_gamma_gamma(transactions=n, p=6.0, q=0.6, v=15.0, seed=14)
    result = gamma_gamma.fit_gamma_gamma(*gamma_gamma.compress_values(n, m))
    assert result.params["q"] < 1
    assert not result.usable
    assert "q <= 1" in result.reason


def test_conditional_mean_shrinks_toward_the_population_mean() -> None:
    params = {"p": 6.0, "q": 4.0, "v": 15.0}
    population = params["p"] * params["v"] / (params["q"] - 1)
    n = np.array([0.0, 1.0, 5.0, 50.0])
    m = np.full(4, 100.0)
    expected = gamma_gamma.expected_average_value(params, n, m)
    assert expected[0] == pytest.approx(population)
    assert np.all(np.diff(expected) > 0)
    assert np.all(expected < 100.0)
    assert expected[2] == pytest.approx(6 * (15 + 5 * 100) / (6 * 5 + 4 - 1))


def test_conditional_mean_is_unbiased_on_simulated_customers() -> None:
    size = 100_000
    rng = np.random.default_rng(15)
    nu = rng.gamma(TRUE["q"], 1 / TRUE["v"], size)
    n = _transactions(size, seed=16)
    m = rng.gamma(n * TRUE["p"], 1 / (n * nu))
    predicted = gamma_gamma.expected_average_value(TRUE, n, m)
    true_mean = TRUE["p"] / nu
    assert predicted.mean() == pytest.approx(true_mean.mean(), rel=0.02)
