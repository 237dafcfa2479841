"""BG/NBD and MBG/NBD: Poisson purchasing with beta-geometric dropout.

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, alpha). Dropout is a
coin flip with probability p ~ Beta(a, b):

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way") flips it after
  every *repeat* purchase, so a customer who never bought again cannot have dropped out:
  their P(alive) is exactly 1, however long ago the purchase was.
- **MBG/NBD** (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of
  models for customer base analysis") flips it after *every* purchase, the first included, so
  one-time buyers lapse too.

The two differ by one shift: MBG/NBD's likelihood and conditional expectation are BG/NBD's with
the beta-geometric part's b + x replaced by b + x + 1 and its dropout branch open at x = 0.
Everything is evaluated in log space (large x and T neither overflow nor underflow), on the
distinct values of x and of the times (`inputs.Grouping`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from customer_intel.analytics.predictive.fitting import (
    FitResult,
    NegLogLikelihood,
    fit_model,
    weighted_sum,
)
from customer_intel.analytics.predictive.inputs import Grouping, Triples

BGNBD = "bgnbd"
MBGNBD = "mbgnbd"
PARAM_NAMES = ("r", "alpha", "a", "b")
# Expected dropout probability a/(a+b) below which the model has no dropout left to speak of:
# the fit then describes a plain NBD and its "P(alive)" is meaningless.
MIN_MEAN_DROPOUT = 1e-4
# The conditional expectation divides by (a - 1); this close to 1 it is evaluated on both
# sides and averaged (the function is smooth in a, the single points are not).
_NEAR_ONE = 1e-4


def _shift(model: str) -> int:
    if model not in (BGNBD, MBGNBD):
        raise ValueError(f"unknown beta-geometric model {model!r}")
    return 1 if model == MBGNBD else 0


def _params(params: Mapping[str, float]) -> tuple[float, float, float, float]:
    r, alpha, a, b = (float(params[name]) for name in PARAM_NAMES)
    return r, alpha, a, b


def log_likelihood_terms(
    params: Mapping[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, model: str
) -> np.ndarray:
    """Each customer's log-likelihood.

    BG/NBD:  B(a, b+x)/B(a, b) Γ(r+x) alpha^r/Γ(r)
             · [(alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x)]
    MBG/NBD: B(a, b+x+1)/B(a, b) Γ(r+x) alpha^r/Γ(r)
             · [(alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x)]
    """
    r, alpha, a, b = _params(params)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    shift = _shift(model)
    branch = _open(x, shift)
    common = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x + shift)
        - gammaln(b)
        - gammaln(a + b + x + shift)
    )
    alive = -(r + x) * np.log(alpha + T)
    dropout = np.where(
        branch,
        np.log(a)
        - np.log(np.where(branch, b + x - 1 + shift, 1.0))
        - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common + np.logaddexp(alive, dropout)


def _open(x: np.ndarray, shift: int) -> np.ndarray:
    """Where the "dropped out after the last purchase" branch exists."""
    return x > 0 if shift == 0 else np.ones(np.shape(x), dtype=bool)


def mean_nll(grouping: Grouping, *, model: str) -> NegLogLikelihood:
    """The weighted mean negative log-likelihood and its gradient in log-parameters.

    Row sums of per-time and per-x terms are taken as those terms times the rows' summed
    weights per time or x (`np.bincount`): the transcendental functions run once per distinct
    value, and each row costs a few arithmetic operations.
    """
    shift = _shift(model)
    triples = grouping.triples
    x_values = grouping.x_values
    x = triples.x
    share = grouping.share
    x_index, T_index, t_x_index = grouping.x_index, grouping.T_index, grouping.t_x_index
    times = grouping.times
    n_times, n_x = len(times), len(x_values)
    share_by_x = np.bincount(x_index, weights=share, minlength=n_x)
    branch_values = _open(x_values, shift)
    branch = branch_values[x_index]

    def evaluate(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        bx = x_values + shift
        common = (
            gammaln(r + x_values)
            + gammaln(b + bx)
            - gammaln(a + b + bx)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            - gammaln(b)
        )
        log_times = np.log(alpha + times)
        denominator = np.where(branch_values, b + bx - 1, 1.0)
        log_odds = np.where(branch_values, np.log(a) - np.log(denominator), -np.inf)
        rx = r + x
        alive = -rx * log_times[T_index]
        dropout = log_odds[x_index] - rx * log_times[t_x_index]
        value = weighted_sum(share_by_x, common) + weighted_sum(share, np.logaddexp(alive, dropout))
        w = np.where(branch, expit(dropout - alive), 0.0)
        alive_share = share * (1 - w)
        dropout_share = share * w
        alive_by_time = np.bincount(T_index, weights=alive_share, minlength=n_times)
        dropout_by_time = np.bincount(t_x_index, weights=dropout_share, minlength=n_times)
        rate_by_time = np.bincount(
            T_index, weights=alive_share * rx, minlength=n_times
        ) + np.bincount(t_x_index, weights=dropout_share * rx, minlength=n_times)
        dropout_by_x = np.bincount(x_index, weights=dropout_share, minlength=n_x)
        d_r = (
            share_by_x @ (digamma(r + x_values) - digamma(r))
            + np.log(alpha)
            - (alive_by_time + dropout_by_time) @ log_times
        )
        d_alpha = r / alpha - rate_by_time @ (1.0 / (alpha + times))
        d_a = share_by_x @ (digamma(a + b) - digamma(a + b + bx)) + dropout_by_x.sum() / a
        d_b = share_by_x @ (
            digamma(a + b) + digamma(b + bx) - digamma(b) - digamma(a + b + bx)
        ) - dropout_by_x @ (1.0 / denominator)
        gradient = np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
        return -value, -gradient

    return evaluate


def fit(
    triples: Triples,
    *,
    model: str,
    start: Mapping[str, float] | None = None,
    min_repeat_customers: int | None = None,
) -> FitResult:
    """Maximum-likelihood (r, alpha, a, b) of BG/NBD or MBG/NBD on weighted triples.

    Refused (usable=False, with the reason) as every model fit is (`fitting.fit_model`), and
    when the expected dropout probability a/(a+b) vanishes: the data show no dropout.
    """
    grouping = Grouping(triples)
    mean_age = max(weighted_sum(grouping.share, triples.T), 1.0)
    # A neutral start: unit shapes, and alpha at the mean age so the prior rate is about one
    # purchase per customer lifetime observed so far.
    default = {"r": 1.0, "alpha": mean_age, "a": 1.0, "b": 1.0}

    def checks(params: Mapping[str, float]) -> tuple[list[str], dict[str, float]]:
        mean_dropout = params["a"] / (params["a"] + params["b"])
        problems = []
        if mean_dropout < MIN_MEAN_DROPOUT:
            problems.append(f"dropout vanishes (a/(a+b) = {mean_dropout:.2g})")
        return problems, {"mean_dropout_probability": mean_dropout}

    return fit_model(
        model=model,
        names=PARAM_NAMES,
        grouping=grouping,
        mean_nll=mean_nll(grouping, model=model),
        start=start or default,
        checks=checks,
        min_repeat_customers=min_repeat_customers,
    )


def probability_alive(
    params: Mapping[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray, *, model: str
) -> np.ndarray:
    """P(alive at T | x, t_x, T) = 1 / (1 + a/(b+x-1+δ) ((alpha+T)/(alpha+t_x))^(r+x)), δ = 1 for
    MBG/NBD; for BG/NBD exactly 1 when x = 0 (paper, eq. 11)."""
    r, alpha, a, b = _params(params)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    shift = _shift(model)
    branch = _open(x, shift)
    log_odds_dead = np.where(
        branch,
        np.log(a)
        - np.log(np.where(branch, b + x - 1 + shift, 1.0))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )
    return expit(-log_odds_dead)


def expected_purchases_if_alive(
    params: Mapping[str, float], t: float | np.ndarray, x: np.ndarray, T: np.ndarray, *, model: str
) -> np.ndarray:
    """E[purchases in (T, T+t] | x, T, alive at T]: the conditional expectation (BG/NBD paper,
    eq. 10) without its P(alive) factor.

    The paper's form multiplies ((alpha+T)/(alpha+T+t))^(r+x), which underflows for large x, by
    2F1(r+x, b+x; a+b+x-1; z), which then overflows. Euler's transformation
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) cancels the two exactly and leaves
    (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose upper parameters do not grow with x.
    MBG/NBD's is the same with b + 1 in place of b.
    """
    r, alpha, a, b = _params(params)
    b += _shift(model)
    x = np.asarray(x, dtype=float)
    T = np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    if abs(a - 1.0) < _NEAR_ONE:
        below = _expected_if_alive(r, alpha, 1.0 - _NEAR_ONE, b, t, x, T)
        above = _expected_if_alive(r, alpha, 1.0 + _NEAR_ONE, b, t, x, T)
        if_alive = (below + above) / 2
    else:
        if_alive = _expected_if_alive(r, alpha, a, b, t, x, T)
    # A zero horizon means zero purchases (z = 0 would give 0 · 1, but keep it exact).
    return np.where(t > 0, np.maximum(if_alive, 0.0), 0.0)


def _expected_if_alive(
    r: float, alpha: float, a: float, b: float, t: np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    t, x, T = np.broadcast_arrays(t, x, T)
    expected = _expected_core(r, alpha, a, b, t, x, T)
    # With x = 0 and a + b = 1 the lower parameter c is 0: 2F1 has a pole that the factor c
    # cancels. Evaluate on both sides of it, as for a = 1.
    near_pole = np.abs(a + b + x - 1) < _NEAR_ONE
    if np.any(near_pole):
        shifted = [
            _expected_core(r, alpha, a, b + shift, t[near_pole], x[near_pole], T[near_pole])
            for shift in (-2 * _NEAR_ONE, 2 * _NEAR_ONE)
        ]
        expected = expected.copy()
        expected[near_pole] = (shifted[0] + shifted[1]) / 2
    return expected


def _expected_core(
    r: float, alpha: float, a: float, b: float, t: np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    z = t / (alpha + T + t)
    c = a + b + x - 1
    # At the pole (c = 0) this is 0 · inf; the caller replaces those rows.
    with np.errstate(invalid="ignore", divide="ignore"):
        remaining = 1.0 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        return (c / (a - 1)) * remaining
