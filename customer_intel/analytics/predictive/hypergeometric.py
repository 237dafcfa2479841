"""The Gauss hypergeometric function 2F1(1, B; C; z) for 0 <= z < 1 and C > B > 0, with the
derivatives of its logarithm in B, C and z.

The Pareto/NBD likelihood needs it (see `pareto_nbd`): in the form used there every term of the
series sum_n (B)_n / (C)_n z^n is positive and each is smaller than the one before by at least
the factor z, so the series converges, has no cancellation, and its tail after a term t_n is
below t_n z / (1 - z). The derivatives come from the same pass (the log-derivative of the n-th
coefficient is sum_{k<n} 1/(B+k) - 1/(C+k)), so a fit's gradient costs one summation.

The number of terms grows like log(1e-16) / log(z): callers keep z moderate (the Pareto/NBD
evaluates the rest by quadrature, `pareto_tail`), and a row still summing after `MAX_TERMS`
terms is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Relative size of the last term (times the tail factor z / (1 - z)) at which a row stops.
TOLERANCE = 1e-16
MAX_TERMS = 2000
# Up to this many rows the series is summed with Python floats, row by row: for the few rows
# of an on-demand profile numpy's per-call overhead on one-element arrays costs 20 times the
# arithmetic. Both loops do the same operations in the same order; a row of a larger batch may
# go on adding terms below TOLERANCE of its sum while its neighbours converge, nothing more.
_SCALAR_ROWS = 8


@dataclass(frozen=True, slots=True)
class LogHyp2F1:
    """log 2F1(1, B; C; z) and its partial derivatives, one value per row."""

    value: np.ndarray
    d_b: np.ndarray
    d_c: np.ndarray
    d_z: np.ndarray


def log_hyp2f1_unit(b: np.ndarray, c: np.ndarray, z: np.ndarray) -> LogHyp2F1:
    """log 2F1(1, b; c; z) with its derivatives, for arrays with c > b > 0 and 0 <= z < 1."""
    b, c, z = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(b, c, z))
    if b.size <= _SCALAR_ROWS:
        rows = np.array(
            [_row(*values) for values in zip(b.tolist(), c.tolist(), z.tolist(), strict=True)],
            dtype=float,
        ).reshape(b.size, 4)
        return LogHyp2F1(value=np.log(rows[:, 0]), d_b=rows[:, 1], d_c=rows[:, 2], d_z=rows[:, 3])
    # Rows in falling order of z: those that need the most terms come first, so the rows
    # still summing are always a prefix, worked on through views instead of index copies.
    order = np.argsort(-z, kind="stable")
    b_s, c_s, z_s = b[order], c[order], z[order]
    size = b.size
    total = np.ones(size)
    sum_b = np.zeros(size)  # sum_n t_n * d log t_n / dB
    sum_c = np.zeros(size)  # sum_n t_n * d log t_n / dC
    sum_n = np.zeros(size)  # sum_n n t_n
    term = np.ones(size)
    log_b = np.zeros(size)
    log_c = np.zeros(size)
    with np.errstate(divide="ignore"):
        tail_factor = z_s / (1 - z_s)
    live = int(np.count_nonzero(z_s > 0))
    n = 0
    while live and n < MAX_TERMS:
        part = slice(0, live)
        bn = b_s[part] + n
        cn = c_s[part] + n
        t = term[part]
        t *= bn / cn * z_s[part]
        log_b[part] += 1.0 / bn
        log_c[part] -= 1.0 / cn
        n += 1
        total[part] += t
        sum_b[part] += t * log_b[part]
        sum_c[part] += t * log_c[part]
        sum_n[part] += n * t
        pending = np.flatnonzero(t * tail_factor[part] > TOLERANCE * total[part])
        live = int(pending[-1]) + 1 if pending.size else 0
    value = np.empty(size)
    d_b = np.empty(size)
    d_c = np.empty(size)
    d_z = np.empty(size)
    value[order] = np.log(total)
    d_b[order] = sum_b / total
    d_c[order] = sum_c / total
    # d/dz sum t_n = sum n t_n / z; at z = 0 the limit is the first coefficient b / c.
    positive = z_s > 0
    d_z[order] = np.where(positive, sum_n / np.where(positive, z_s, 1.0) / total, b_s / c_s)
    if live:
        raise ArithmeticError(f"2F1 series still summing after {MAX_TERMS} terms (z near 1)")
    return LogHyp2F1(value=value, d_b=d_b, d_c=d_c, d_z=d_z)


def _row(b: float, c: float, z: float) -> tuple[float, float, float, float]:
    """The sum 2F1(1, b; c; z) of one row, with Python floats, and its log-derivatives."""
    total, sum_b, sum_c, sum_n, term, log_b, log_c = 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0
    tail_factor = z / (1 - z) if z < 1 else math.inf
    n = 0
    live = z > 0
    while live and n < MAX_TERMS:
        bn = b + n
        cn = c + n
        term *= bn / cn * z
        log_b += 1.0 / bn
        log_c -= 1.0 / cn
        n += 1
        total += term
        sum_b += term * log_b
        sum_c += term * log_c
        sum_n += n * term
        live = term * tail_factor > TOLERANCE * total
    if live:
        raise ArithmeticError(f"2F1 series still summing after {MAX_TERMS} terms (z near 1)")
    d_z = sum_n / z / total if z > 0 else b / c
    return total, sum_b / total, sum_c / total, d_z
