"""The Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").

Each transaction of a customer is worth z ~ Gamma(p, nu), with the customer's rate
nu ~ Gamma(q, v) across customers, independent of how often they buy. A customer is summarized
by n, the number of transactions averaged, and m, their average (net) value.

Values are rescaled by their weighted mean before the fit so that v, a money scale, lands near
1 whatever the currency; the reported v and log-likelihood are in the original money unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import digamma, gammaln

from customer_intel.analytics.predictive.fitting import (
    MIN_REPEAT_CUSTOMERS,
    FitResult,
    NegLogLikelihood,
    maximize_likelihood,
    refused,
    weighted_sum,
)

MODEL = "gamma_gamma"
PARAM_NAMES = ("p", "q", "v")
# Average values are grouped into bins 0.1% wide on a log scale before the fit: spend varies by
# tens of percent between and within customers, so the binning noise is negligible, and a
# million customers shrink to a few tens of thousands of weighted rows.
VALUE_BINS_PER_LOG_UNIT = 1000


def compress_values(
    transactions: np.ndarray,
    average_value: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique (n, binned m) pairs with summed weights; rows with n < 1 or m <= 0 are dropped."""
    n = np.asarray(transactions, dtype=float)
    m = np.asarray(average_value, dtype=float)
    weights = np.ones(len(n)) if weights is None else np.asarray(weights, dtype=float)
    kept = (n >= 1) & (m > 0) & np.isfinite(m)
    n, m, weights = n[kept].astype(np.int64), m[kept], weights[kept]
    if len(n) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    bins = np.rint(np.log(m) * VALUE_BINS_PER_LOG_UNIT).astype(np.int64)
    offset = int(bins.min())
    span = int(bins.max()) - offset + 1
    key = n * span + (bins - offset)
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    counts = np.bincount(inverse, weights=weights, minlength=len(unique))
    binned = np.exp(bins[first] / VALUE_BINS_PER_LOG_UNIT)
    return n[first].astype(float), binned, counts


def log_likelihood_terms(
    params: Mapping[str, float], transactions: np.ndarray, average_value: np.ndarray
) -> np.ndarray:
    """Each customer's log density of their average value m given n transactions.

    f(m | n) = Γ(pn+q) / (Γ(pn) Γ(q)) · v^q m^(pn-1) n^(pn) / (v + n m)^(pn+q)
    """
    p, q, v = (float(params[name]) for name in PARAM_NAMES)
    n = np.asarray(transactions, dtype=float)
    m = np.asarray(average_value, dtype=float)
    return _terms(p, q, v, n, m)


def _terms(p: float, q: float, v: float, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    return (
        gammaln(p * n + q)
        - gammaln(p * n)
        - gammaln(q)
        + q * np.log(v)
        + (p * n - 1) * np.log(m)
        + p * n * np.log(n)
        - (p * n + q) * np.log(v + n * m)
    )


def _mean_nll(n: np.ndarray, m: np.ndarray, weights: np.ndarray) -> NegLogLikelihood:
    share = weights / weights.sum()
    log_m = np.log(m)
    log_n = np.log(n)

    def mean_nll(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_params)
        terms = _terms(p, q, v, n, m)
        log_v_nm = np.log(v + n * m)
        psi_all = digamma(p * n + q)
        d_p = n * (psi_all - digamma(p * n) + log_m + log_n - log_v_nm)
        d_q = psi_all - digamma(q) + np.log(v) - log_v_nm
        d_v = q / v - (p * n + q) / (v + n * m)
        gradient = np.array(
            [
                p * weighted_sum(share, d_p),
                q * weighted_sum(share, d_q),
                v * weighted_sum(share, d_v),
            ]
        )
        return -weighted_sum(share, terms), -gradient

    return mean_nll


def fit_gamma_gamma(
    transactions: np.ndarray,
    average_value: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    min_customers: int = MIN_REPEAT_CUSTOMERS,
) -> FitResult:
    """Maximum-likelihood (p, q, v) from customers' transaction counts and average values.

    Only rows with n >= 1 and a positive average take part: a customer whose purchases were
    refunded in full says nothing about the size of a purchase. Refuses (usable=False, with
    the reason) with fewer than `min_customers` such customers, when the optimizer does not
    converge or a parameter runs to its bound, and when q <= 1, where the population mean
    spend p·v/(q-1) does not exist.
    """
    n = np.asarray(transactions, dtype=float)
    m = np.asarray(average_value, dtype=float)
    weights = np.ones_like(n) if weights is None else np.asarray(weights, dtype=float)
    kept = (n >= 1) & (m > 0) & np.isfinite(m)
    n, m, weights = n[kept], m[kept], weights[kept]
    n_customers = int(np.rint(weights.sum()))
    if n_customers < min_customers:
        return refused(
            model=MODEL,
            reason=f"not enough repeat customers with spend ({n_customers} < {min_customers})",
            n_customers=n_customers,
            n_repeat=n_customers,
        )
    scale = weighted_sum(weights, m) / float(weights.sum())
    mean_nll = _mean_nll(n, m / scale, weights)
    optimum = maximize_likelihood(
        mean_nll=mean_nll,
        start=np.log([1.0, 2.0, 1.0]),
        names=PARAM_NAMES,
        total_weight=float(weights.sum()),
    )
    p, q, v_scaled = (float(value) for value in np.exp(optimum.log_params))
    params = {"p": p, "q": q, "v": v_scaled * scale}
    problems = list(optimum.problems)
    if q <= 1:
        problems.append(f"q <= 1 ({q:.3g}): the expected spend per purchase is undefined")
    # The density of m is that of m/scale divided by scale.
    log_likelihood = -optimum.mean_nll * float(weights.sum()) - float(weights.sum()) * np.log(scale)
    return FitResult(
        model=MODEL,
        usable=not problems,
        reason="; ".join(problems),
        params=params,
        log_likelihood=float(log_likelihood),
        n_customers=n_customers,
        n_repeat=n_customers,
        iterations=optimum.iterations,
        diagnostics={**optimum.diagnostics, "value_scale": scale, "rows": len(n)},
    )


def expected_average_value(
    params: Mapping[str, float], transactions: np.ndarray, average_value: np.ndarray
) -> np.ndarray:
    """E[value of a future transaction | n, m] = p(v + n m) / (p n + q - 1).

    A weighted average of the population mean p·v/(q-1) and the customer's own mean m, the
    customer's weight growing with n. With n = 0 it is the population mean.
    """
    p, q, v = (float(params[name]) for name in PARAM_NAMES)
    n = np.asarray(transactions, dtype=float)
    m = np.maximum(np.asarray(average_value, dtype=float), 0.0)
    return p * (v + n * m) / (p * n + q - 1)
