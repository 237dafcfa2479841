"""log G(t) of the Pareto/NBD by quadrature, for the (x, t) where its series converges slowly.

G(t) = (r+s+x) ∫_t^∞ (alpha+τ)^-(r+x) (beta+τ)^-(s+1) dτ. With c = min(alpha, beta) and
v = (c+t)/(c+τ) the integral becomes

    (c+t)^(1-p-q) ∫_0^1 v^(p+q-2) (1 + κv)^-e dv,    p = r+x, q = s+1,

with κ = |alpha-beta|/(c+t) and e = q when alpha < beta, e = p otherwise. In y = log v the
integrand is exp(Ψ(y)), Ψ(y) = (p+q-1) y - e log(1 + κ e^y), a concave function: the integrand
is a single bump whose mode and width are known in closed form. Gauss-Legendre nodes are laid
over the part of (-∞, 0] where Ψ is within `SPAN` of its maximum (the rest weighs less than
e^-SPAN of the whole), on both sides of the mode. The derivatives in (r, alpha, s, beta) are
integrals of the same nodes, so the gradient is exact for the computed value.

This is the regime z = |alpha-beta|/(max(alpha, beta)+t) near 1, where the series needs
thousands of terms (and where `scipy.special.hyp2f1` returns NaN for large parameters).
"""

from __future__ import annotations

import numpy as np

# How far below its maximum the log-integrand is followed on each side.
SPAN = 45.0
NODES_PER_SIDE = 40
_BISECTIONS = 25
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(NODES_PER_SIDE)


def log_g_by_quadrature(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """log G(t) for each (x, t) and its gradient in (r, alpha, s, beta) as a (4, n) array."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    p = r + x
    q = s + 1.0
    alpha_smaller = alpha < beta
    c = min(alpha, beta)
    kappa = abs(alpha - beta) / (c + t)
    e = q if alpha_smaller else p
    k = p + q - 1.0  # > 0

    def psi(y: np.ndarray) -> np.ndarray:
        return k * y - e * np.log1p(kappa * np.exp(y))

    # The mode: Ψ'(y) = k - e κe^y / (1 + κe^y) = 0, at κe^y = rho/(1-rho) with rho = k/e;
    # when rho >= 1 (or κ = 0) Ψ rises all the way and the mode is the end, y = 0.
    rho = k / e
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = (rho < 1) & (kappa > 0)
        mode = np.where(interior, np.log(rho / ((1 - rho) * np.where(kappa > 0, kappa, 1.0))), 0.0)
    mode = np.minimum(mode, 0.0)
    peak = psi(mode)
    # Left of the mode Ψ falls at least as fast as the slope k times the distance, once the
    # κ term has faded; bisect for the point SPAN below the peak inside a wide bracket.
    lower = _bisect(psi, peak - SPAN, mode - (SPAN + 50.0) / np.minimum(k, 1.0) - 50.0, mode)
    upper = np.where(
        psi(np.zeros_like(mode)) >= peak - SPAN,
        0.0,
        _bisect(psi, peak - SPAN, np.zeros_like(mode), mode),
    )
    ys, ws = [], []
    for start, end in ((lower, mode), (mode, upper)):
        half = (end - start) / 2
        ys.append(start[None, :] + half[None, :] * (_NODES[:, None] + 1))
        ws.append(half[None, :] * _WEIGHTS[:, None])
    y = np.concatenate(ys)
    weight = np.concatenate(ws)
    log_terms = psi(y)  # the Jacobian dv = v dy is in Ψ
    shift = log_terms.max(axis=0)
    mass = weight * np.exp(log_terms - shift)
    total = mass.sum(axis=0)
    log_j = np.log(total) + shift

    def mean(values: np.ndarray) -> np.ndarray:
        return (mass * values).sum(axis=0) / total

    v = np.exp(y)
    mean_log_v = mean(y)
    mean_log_1k = mean(np.log1p(kappa * v))
    mean_ratio = mean(v / (1 + kappa * v))
    log_ct = np.log(c + t)
    value = np.log(r + s + x) + (1 - p - q) * log_ct + log_j
    rsx = 1.0 / (r + s + x)
    if alpha_smaller:
        # c = alpha, e = q, κ = (beta-alpha)/(alpha+t).
        d_kappa = -q * mean_ratio
        gradient = np.stack(
            [
                rsx - log_ct + mean_log_v,
                (1 - p - q) / (alpha + t) + d_kappa * (-(beta + t) / (alpha + t) ** 2),
                rsx - log_ct + mean_log_v - mean_log_1k,
                d_kappa / (alpha + t),
            ]
        )
    else:
        # c = beta, e = p, κ = (alpha-beta)/(beta+t).
        d_kappa = -p * mean_ratio
        gradient = np.stack(
            [
                rsx - log_ct + mean_log_v - mean_log_1k,
                d_kappa / (beta + t),
                rsx - log_ct + mean_log_v,
                (1 - p - q) / (beta + t) + d_kappa * (-(alpha + t) / (beta + t) ** 2),
            ]
        )
    return value, gradient


def _bisect(psi, target: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The y in [low, high] where the monotone Ψ crosses `target` (Ψ(low) < target <= Ψ(high)
    or the reverse); `low` itself when it does not cross."""
    low = np.array(low, dtype=float)
    high = np.array(high, dtype=float)
    below_at_low = psi(low) < target
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        below = psi(middle) < target
        moves_low = below == below_at_low
        low = np.where(moves_low, middle, low)
        high = np.where(moves_low, high, middle)
    return np.where(below_at_low, low, high)
