"""BG/NBD and MBG/NBD: likelihood, gradient, parameter recovery, refusals, conditional
expectations."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest

from customer_intel.analytics.predictive import beta_geometric, simulate
from customer_intel.analytics.predictive.fitting import MIN_REPEAT_CUSTOMERS
from customer_intel.analytics.predictive.inputs import (
    Grouping,
    Triples,
    compress_customers,
    customer_inputs,
    histories_from_days,
)
from customer_intel.analytics.predictive.models import BGNBD, MBGNBD

TRUE = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0}
BOTH = pytest.mark.parametrize("model", [BGNBD, MBGNBD], ids=["bgnbd", "mbgnbd"])


def _simulated(size: int, seed: int, **params: float) -> simulate.SimulatedCustomers:
    ages = np.random.default_rng(seed).uniform(26, 156, size)
    return simulate.simulate_bgnbd(size=size, observation=ages, seed=seed + 1, **(params or TRUE))


def _paper_likelihood(params: dict[str, float], x: int, t_x: float, T: float, shift: int) -> float:
    """BG/NBD eq. (6) of Fader, Hardie & Lee (2005) (shift 0), and MBG/NBD's (shift 1: the
    dropout branch at every x, b + x + 1), with Beta functions, not in log space."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]

    def beta(p: float, q: float) -> float:
        return math.gamma(p) * math.gamma(q) / math.gamma(p + q)

    rate_part = math.gamma(r + x) * alpha**r / math.gamma(r)
    likelihood = beta(a, b + x + shift) / beta(a, b) * rate_part / (alpha + T) ** (r + x)
    if x > 0 or shift:
        likelihood += (
            beta(a + 1, b + x - 1 + shift) / beta(a, b) * rate_part / (alpha + t_x) ** (r + x)
        )
    return likelihood


@BOTH
@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [(0, 0.0, 30.0), (1, 5.5, 40.0), (2, 30.43, 38.86), (7, 70.0, 80.0), (12, 120.0, 150.0)],
)
def test_log_likelihood_matches_the_papers_formula(model, x: int, t_x: float, T: float) -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    shift = 1 if model is MBGNBD else 0
    expected = math.log(_paper_likelihood(params, x, t_x, T, shift))
    got = model.log_likelihood_terms(params, np.array([x]), np.array([t_x]), np.array([T]))[0]
    assert got == pytest.approx(expected, rel=1e-10)


@BOTH
def test_log_likelihood_stays_finite_where_the_plain_formula_overflows(model) -> None:
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x, t_x, T = np.array([400.0]), np.array([150.0]), np.array([156.0])
    with pytest.raises(OverflowError):
        _paper_likelihood(params, 400, 150.0, 156.0, 0)
    assert np.isfinite(model.log_likelihood_terms(params, x, t_x, T)[0])


@BOTH
def test_analytic_gradient_matches_finite_differences(model) -> None:
    customers = _simulated(3000, seed=11)
    grouping = Grouping(compress_customers(customers.x, customers.t_x, customers.T))
    mean_nll = beta_geometric.mean_nll(grouping, model=model.name)
    point = np.log([0.7, 5.0, 1.3, 2.2])
    value, gradient = mean_nll(point)
    params = dict(zip(model.param_names, np.exp(point), strict=True))
    terms = model.log_likelihood_terms(params, customers.x, customers.t_x, customers.T)
    assert value == pytest.approx(-terms.mean(), rel=1e-12)
    step = 1e-6
    for i in range(4):
        shift = np.zeros(4)
        shift[i] = step
        numeric = (mean_nll(point + shift)[0] - mean_nll(point - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_bgnbd_recovers_each_parameter_within_five_percent() -> None:
    customers = _simulated(200_000, seed=2024)
    triples = compress_customers(customers.x, customers.t_x, customers.T)

    result = BGNBD.fit_triples(triples)

    assert result.usable, result.reason
    assert result.n_customers == 200_000
    assert result.time_unit == "weeks"
    for name, true_value in TRUE.items():
        assert result.params[name] == pytest.approx(true_value, rel=0.05), name
        # The sample is large enough that 5% is several standard errors: a real check.
        assert result.diagnostics["log_param_standard_errors"][name] < 0.02


def test_mbgnbd_recovers_each_parameter_within_five_percent() -> None:
    ages = np.random.default_rng(5).uniform(26, 156, 200_000)
    customers = simulate.simulate_bgnbd(
        size=200_000, observation=ages, seed=6, dropout_after_first=True, **TRUE
    )

    result = MBGNBD.fit_triples(compress_customers(customers.x, customers.t_x, customers.T))

    assert result.usable, result.reason
    errors = result.diagnostics["log_param_standard_errors"]
    for name, true_value in TRUE.items():
        # Within three standard errors, each under 5%: a check with power.
        assert abs(math.log(result.params[name] / true_value)) < 3 * errors[name], name
        assert errors[name] < 0.05


def test_at_day_resolution_the_fit_stays_close_to_the_arrival_process() -> None:
    # Whole days merge two purchases of one day into one occasion, which the simulated arrival
    # process does not know about; at ticketing rates the estimates move by a few percent.
    true = {**TRUE, "alpha": 20.0}
    first_days = np.random.default_rng(5).integers(0, 1500, 300_000)
    log = simulate.simulate_day_log(
        model="mbgnbd", params=true, first_days=first_days, end_day=1500, seed=6
    )
    x, t_x, T = _day_log_summary(log, end_day=1500)

    result = MBGNBD.fit_triples(compress_customers(x, t_x, T))

    assert result.usable, result.reason
    for name, true_value in true.items():
        assert result.params[name] == pytest.approx(true_value, rel=0.05), name


def _day_log_summary(log: simulate.DayLog, *, end_day: int):  # type: ignore[no-untyped-def]
    histories = histories_from_days(
        customer=log.customer, day=log.day, cents=log.cents, customers=log.customers
    )
    found = customer_inputs(histories=histories, net_cents=histories.gross_cents, as_of_day=end_day)
    return found.x, found.t_x, found.T


@BOTH
def test_compression_keeps_the_fit(model) -> None:
    customers = _simulated(10_000, seed=5)
    rounded = (customers.x, np.rint(customers.t_x), np.rint(customers.T))
    compressed = compress_customers(*rounded)
    assert len(compressed) < 10_000
    one_row_each = Triples(*rounded, np.ones(10_000))
    direct = model.fit_triples(one_row_each)
    grouped = model.fit_triples(compressed)
    assert grouped.log_likelihood == pytest.approx(direct.log_likelihood, rel=1e-9)
    for name in TRUE:
        assert grouped.params[name] == pytest.approx(direct.params[name], rel=1e-5)


@BOTH
def test_too_few_repeat_customers_is_refused_without_fitting(model) -> None:
    x = np.array([1.0] * 154 + [0.0] * 5000)
    t_x = np.where(x > 0, 3.0, 0.0)
    T = np.full(len(x), 20.0)
    result = model.fit_triples(compress_customers(x, t_x, T))
    assert not result.usable
    assert result.reason == f"not enough repeat customers (154 < {MIN_REPEAT_CUSTOMERS})"
    assert result.params == {}
    assert result.n_customers == 5154


def test_data_without_any_sign_of_dropout_is_refused() -> None:
    # Everyone buys every week right up to the end of observation: nothing in the data says
    # anyone ever drops out, so the likelihood pushes the dropout to zero.
    T = np.repeat(np.arange(10.0, 60.0), 20)
    result = BGNBD.fit_triples(compress_customers(T.copy(), T.copy(), T))
    assert not result.usable
    assert result.params, "the fit ran and its parameters are reported"
    assert "bound" in result.reason or "dropout vanishes" in result.reason


def test_inconsistent_inputs_raise() -> None:
    x = np.ones(300)
    with pytest.raises(ValueError, match="t_x <= T"):
        BGNBD.fit_triples(compress_customers(x, np.full(300, 10.0), np.full(300, 5.0)))


def test_bgnbd_probability_alive_is_one_without_repeat_purchases() -> None:
    # Dropout happens only right after a repeat purchase (the paper's convention): a customer
    # who never bought again is alive, however long ago the first purchase was.
    p_alive = BGNBD.probability_alive(TRUE, np.zeros(3), np.zeros(3), np.array([1.0, 50, 500]))
    assert np.all(p_alive == 1.0)


def test_mbgnbd_lets_one_time_buyers_lapse() -> None:
    p_alive = MBGNBD.probability_alive(TRUE, np.zeros(3), np.zeros(3), np.array([1.0, 50, 500]))
    r, alpha, a, b = TRUE["r"], TRUE["alpha"], TRUE["a"], TRUE["b"]
    expected = [1 / (1 + a / b * ((alpha + age) / alpha) ** r) for age in (1.0, 50, 500)]
    assert p_alive == pytest.approx(expected, rel=1e-12)
    assert np.all(np.diff(p_alive) < 0) and p_alive[-1] < 0.5


@BOTH
def test_probability_alive_matches_the_paper_and_falls_with_silence(model) -> None:
    x, t_x = np.full(4, 3.0), np.full(4, 10.0)
    T = np.array([10.0, 20.0, 50.0, 150.0])
    p_alive = model.probability_alive(TRUE, x, t_x, T)
    r, alpha, a, b = TRUE["r"], TRUE["alpha"], TRUE["a"], TRUE["b"]
    denominator = b + 3 - 1 + (1 if model is MBGNBD else 0)
    expected = [
        1 / (1 + a / denominator * ((alpha + age) / (alpha + 10.0)) ** (r + 3)) for age in T
    ]
    assert p_alive == pytest.approx(expected, rel=1e-12)
    assert np.all(np.diff(p_alive) < 0)


def _reference_expected_purchases(
    params: dict[str, float], t: float, x: int, t_x: float, T: float, shift: int
) -> float:
    """BG/NBD eq. (10) (MBG/NBD: b + 1 in the hypergeometric and the front factor, the
    dropout odds a/(b+x)) in 60-digit decimal arithmetic, the 2F1 by its plain series."""
    getcontext().prec = 60
    r, alpha, a, b = (Decimal(repr(params[k])) for k in ("r", "alpha", "a", "b"))
    t, t_x, T = Decimal(repr(t)), Decimal(repr(t_x)), Decimal(repr(T))
    upper_1, upper_2, lower = r + x, b + x + shift, a + b + x - 1 + shift
    z = t / (alpha + T + t)
    term, total, k = Decimal(1), Decimal(1), 0
    while abs(term) > Decimal("1e-40") * abs(total) or k < 10:
        term *= (upper_1 + k) * (upper_2 + k) / ((lower + k) * (k + 1)) * z
        total += term
        k += 1
    ratio = ((alpha + T) / (alpha + T + t)) ** (r + x)
    numerator = lower / (a - 1) * (1 - ratio * total)
    open_branch = x > 0 or shift
    odds = a / (b + x - 1 + shift) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return float(numerator / (1 + (odds if open_branch else 0)))


@BOTH
@pytest.mark.parametrize(
    ("t", "x", "t_x", "T"),
    [
        (52.0, 0, 0.0, 52.0),
        (52.0, 2, 30.0, 40.0),
        (156.0, 0, 0.0, 0.0),  # z close to 1
        (156.0, 40, 150.0, 156.0),
        (156.0, 250, 155.0, 156.0),  # (alpha+T)/(alpha+T+t) ** 250: the plain form's trouble
        (13.0, 600, 100.0, 104.0),
        (156.0, 3, 4000.0, 5200.0),  # a century of history
    ],
)
def test_conditional_expectation_matches_high_precision_reference(
    model, t: float, x: int, t_x: float, T: float
) -> None:
    shift = 1 if model is MBGNBD else 0
    expected = _reference_expected_purchases(TRUE, t, x, t_x, T, shift)
    got = model.expected_purchases(TRUE, t, np.array([x]), np.array([t_x]), np.array([T]))[0]
    assert got == pytest.approx(expected, rel=1e-8)


def test_bgnbd_conditional_expectation_of_the_papers_example() -> None:
    # Fader, Hardie & Lee (2005), p. 280: a CDNOW customer with x = 2, t_x = 30.43, T = 38.86
    # is expected to make 1.226 purchases in the next 39 weeks.
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    got = BGNBD.expected_purchases(
        params, 39.0, np.array([2.0]), np.array([30.43]), np.array([38.86])
    )
    assert got[0] == pytest.approx(1.226, abs=0.0005)


def test_conditional_expectation_is_smooth_through_a_equal_one() -> None:
    x, t_x, T = np.array([3.0]), np.array([20.0]), np.array([30.0])
    values = [
        BGNBD.expected_purchases({**TRUE, "a": a}, 52.0, x, t_x, T)[0]
        for a in (0.999, 0.99999, 1.0, 1.00001, 1.001)
    ]
    assert all(np.isfinite(values))
    assert values[2] == pytest.approx((values[1] + values[3]) / 2, rel=1e-6)
    assert values[0] == pytest.approx(values[4], rel=1e-2)


def test_conditional_expectation_is_continuous_where_its_hypergeometric_has_a_pole() -> None:
    # x = 0 and a + b = 1 make the lower parameter of 2F1 zero.
    params = {"r": 0.5, "alpha": 8.0, "a": 0.4, "b": 0.6}
    x, t_x, T = np.zeros(1), np.zeros(1), np.full(1, 10.0)
    at_pole = BGNBD.expected_purchases(params, 52.0, x, t_x, T)[0]
    beside = [
        BGNBD.expected_purchases({**params, "b": 0.6 + shift}, 52.0, x, t_x, T)[0]
        for shift in (-1e-3, 1e-3)
    ]
    assert np.isfinite(at_pole)
    assert at_pole == pytest.approx(sum(beside) / 2, rel=1e-4)


def test_conditional_expectation_predicts_simulated_holdout_purchases() -> None:
    customers = _simulated(100_000, seed=77)
    holdout = simulate.simulate_future_purchases(customers, horizon=52.0, seed=78)
    predicted = BGNBD.expected_purchases(TRUE, 52.0, customers.x, customers.t_x, customers.T)
    # Aggregate and by frequency group: the conditional expectation is unbiased.
    assert predicted.sum() == pytest.approx(holdout.sum(), rel=0.02)
    for low, high in [(0, 0), (1, 2), (3, 6), (7, 1000)]:
        group = (customers.x >= low) & (customers.x <= high)
        assert predicted[group].mean() == pytest.approx(holdout[group].mean(), rel=0.05)
