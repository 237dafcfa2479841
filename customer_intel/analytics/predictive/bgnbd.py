"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, alpha); after every repeat
purchase they drop out for good with probability p ~ Beta(a, b). A customer is summarized by
(x, t_x, T): x repeat purchases, the last at t_x, observed for T since their first purchase,
all in the model's time unit (weeks, see `fitting.TIME_UNIT`).

The fit runs on unique (x, t_x, T) triples with counts: customers are compressed after their
times are rounded to whole weeks (`compress_customers`), so a million customers are a few
tens of thousands of weighted rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from customer_intel.analytics.predictive.fitting import (
    MIN_REPEAT_CUSTOMERS,
    FitResult,
    NegLogLikelihood,
    maximize_likelihood,
    refused,
    weighted_sum,
)

MODEL = "bgnbd"
PARAM_NAMES = ("r", "alpha", "a", "b")
# Expected dropout probability a/(a+b) below which the model has no dropout left to speak of:
# the fit then describes a plain NBD and its "P(alive)" is meaningless.
MIN_MEAN_DROPOUT = 1e-4
# The conditional expectation divides by (a - 1); this close to 1 it is evaluated on both
# sides and averaged (the function is smooth in a, the single points are not).
_NEAR_ONE = 1e-4


def compress_customers(
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unique (x, t_x, T) triples, with t_x and T rounded to whole time units, and their counts.

    Rounding each time to the nearest whole unit keeps t_x <= T (rounding is monotone) and is
    zero-mean, so it adds noise of at most half a week per customer and no bias. `weights`
    (counts of already grouped rows) are summed per triple.
    """
    x = np.asarray(x, dtype=np.int64)
    t_x = np.rint(np.asarray(t_x, dtype=float)).astype(np.int64)
    T = np.rint(np.asarray(T, dtype=float)).astype(np.int64)
    weights = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    if len(x) == 0:
        empty = np.zeros(0)
        return empty, empty, empty, empty
    # One integer key per triple: np.unique on a 1-D key is far faster than on rows.
    span = int(T.max()) + 1
    key = (x * span + t_x) * span + T
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    counts = np.bincount(inverse, weights=weights, minlength=len(unique))
    return (
        x[first].astype(float),
        t_x[first].astype(float),
        T[first].astype(float),
        counts,
    )


def log_likelihood_terms(
    params: Mapping[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood, in log space so that large x and T do not overflow."""
    r, alpha, a, b = (float(params[name]) for name in PARAM_NAMES)
    return _terms(r, alpha, a, b, *_as_arrays(x, t_x, T))[0]


def _as_arrays(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    return (
        np.asarray(x, dtype=float),
        np.asarray(t_x, dtype=float),
        np.asarray(T, dtype=float),
    )


def _terms(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood terms and the weight of the "dropped out after t_x" branch.

    L = B(a, b+x)/B(a, b) · Γ(r+x) alpha^r / Γ(r)
        · [(alpha+T)^-(r+x) + δ(x>0) a/(b+x-1) (alpha+t_x)^-(r+x)]
    """
    repeat = x > 0
    common = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x)
        - gammaln(b)
        - gammaln(a + b + x)
    )
    alive_branch = -(r + x) * np.log(alpha + T)
    # b + x - 1 > 0 wherever the branch applies (x >= 1, b > 0); elsewhere it is masked out.
    dropout_branch = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    terms = common + np.logaddexp(alive_branch, dropout_branch)
    dropout_weight = np.where(repeat, expit(dropout_branch - alive_branch), 0.0)
    return terms, dropout_weight


def _mean_nll(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray
) -> tuple[NegLogLikelihood, float]:
    total = float(weights.sum())
    share = weights / total

    def mean_nll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        terms, w = _terms(r, alpha, a, b, x, t_x, T)
        repeat = x > 0
        log_alpha_T = np.log(alpha + T)
        log_alpha_tx = np.log(alpha + t_x)
        d_r = digamma(r + x) - digamma(r) + np.log(alpha) - (1 - w) * log_alpha_T - w * log_alpha_tx
        d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
        d_a = digamma(a + b) - digamma(a + b + x) + w / a
        d_b = (
            digamma(a + b)
            + digamma(b + x)
            - digamma(b)
            - digamma(a + b + x)
            - w / np.where(repeat, b + x - 1, 1.0)
        )
        gradient = np.array(
            [
                r * weighted_sum(share, d_r),
                alpha * weighted_sum(share, d_alpha),
                a * weighted_sum(share, d_a),
                b * weighted_sum(share, d_b),
            ]
        )
        return -weighted_sum(share, terms), -gradient

    return mean_nll, total


def fit_bgnbd(
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
) -> FitResult:
    """Maximum-likelihood BG/NBD parameters from (x, t_x, T) rows weighted by customer counts.

    Refuses (usable=False, with the reason) when there are fewer than `min_repeat_customers`
    repeat buyers, when the optimizer does not converge, and when the estimate is degenerate:
    a parameter on its bound, a flat likelihood, or no dropout left (a/(a+b) vanishing).
    """
    x, t_x, T = _as_arrays(x, t_x, T)
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    n_customers = int(np.rint(weights.sum()))
    n_repeat = int(np.rint(weights[x > 0].sum()))
    if n_repeat < min_repeat_customers:
        return refused(
            model=MODEL,
            reason=f"not enough repeat customers ({n_repeat} < {min_repeat_customers})",
            n_customers=n_customers,
            n_repeat=n_repeat,
        )
    if np.any(t_x > T) or np.any(t_x < 0) or np.any(x < 0):
        raise ValueError("BG/NBD inputs need x >= 0 and 0 <= t_x <= T")

    mean_nll, total = _mean_nll(x, t_x, T, weights)
    # A neutral start: unit shapes, and alpha at the mean age so the prior rate is about one
    # purchase per customer lifetime observed so far.
    mean_age = max(weighted_sum(weights, T) / total, 1.0)
    start = np.log([1.0, mean_age, 1.0, 1.0])
    optimum = maximize_likelihood(
        mean_nll=mean_nll, start=start, names=PARAM_NAMES, total_weight=total
    )
    r, alpha, a, b = (float(v) for v in np.exp(optimum.log_params))
    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    problems = list(optimum.problems)
    mean_dropout = a / (a + b)
    if mean_dropout < MIN_MEAN_DROPOUT:
        problems.append(f"dropout vanishes (a/(a+b) = {mean_dropout:.2g})")
    diagnostics = {
        **optimum.diagnostics,
        "unique_rows": len(x),
        "mean_dropout_probability": mean_dropout,
    }
    return FitResult(
        model=MODEL,
        usable=not problems,
        reason="; ".join(problems),
        params=params,
        log_likelihood=-optimum.mean_nll * total,
        n_customers=n_customers,
        n_repeat=n_repeat,
        iterations=optimum.iterations,
        diagnostics=diagnostics,
    )


def probability_alive(
    params: Mapping[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive at T | x, t_x, T). Exactly 1 for x = 0: dropout happens only after a repeat
    purchase, so a customer who never bought again cannot have dropped out (paper, eq. 11)."""
    r, alpha, a, b = (float(params[name]) for name in PARAM_NAMES)
    x, t_x, T = _as_arrays(x, t_x, T)
    repeat = x > 0
    log_odds_dead = np.where(
        repeat,
        np.log(a)
        - np.log(np.where(repeat, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )
    return expit(-log_odds_dead)


def expected_purchases(
    params: Mapping[str, float],
    t: float | np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """E[purchases in (T, T+t] | x, t_x, T] (paper, eq. 10), for one horizon or one per row."""
    x, t_x, T = _as_arrays(x, t_x, T)
    return probability_alive(params, x, t_x, T) * expected_purchases_if_alive(params, t, x, T)


def expected_purchases_if_alive(
    params: Mapping[str, float], t: float | np.ndarray, x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T+t] | x, T, alive at T]: eq. (10) without its P(alive) factor.

    Scoring several horizons multiplies P(alive), computed once, by this. The paper's form
    multiplies ((alpha+T)/(alpha+T+t))^(r+x), which underflows for large x, by
    2F1(r+x, b+x; a+b+x-1; z), which then overflows. Euler's transformation
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) cancels the two exactly and leaves
    (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z), whose upper parameters do not grow with x.
    """
    r, alpha, a, b = (float(params[name]) for name in PARAM_NAMES)
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
