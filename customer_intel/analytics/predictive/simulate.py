"""Seeded, vectorized draws from the BG/NBD and Gamma-Gamma generative processes.

Used to validate the fits (parameters known in advance), by the benchmark, and by the backtest
tests. Each customer draws λ ~ Gamma(r, alpha) and p ~ Beta(a, b); they buy as a Poisson process
with rate λ and after each repeat purchase drop out with probability p.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SimulatedCustomers:
    """Per-customer summaries (x, t_x, T in the model's time unit) and the latent truth."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    rate: np.ndarray
    dropout_probability: np.ndarray
    # Number of repeat purchases after which the customer drops out (>= 1).
    purchases_until_dropout: np.ndarray


def simulate_bgnbd(
    *,
    size: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    observation: float | np.ndarray,
    seed: int,
) -> SimulatedCustomers:
    """`size` customers observed for `observation` time units since their first purchase.

    Draws the number of Poisson arrivals in the window and the geometric number of purchases
    before dropout; the customer makes the smaller of the two. Given N arrivals in [0, T] their
    times are sorted uniforms, so the x-th arrival is T · Beta(x, N - x + 1).
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(observation, dtype=float), (size,)).copy()
    rate = rng.gamma(shape=r, scale=1.0 / alpha, size=size)
    dropout = rng.beta(a, b, size=size)
    arrivals = rng.poisson(rate * T)
    until_dropout = rng.geometric(dropout)
    x = np.minimum(arrivals, until_dropout)
    t_x = np.zeros(size)
    repeat = x > 0
    t_x[repeat] = T[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    return SimulatedCustomers(
        x=x.astype(float),
        t_x=t_x,
        T=T,
        rate=rate,
        dropout_probability=dropout,
        purchases_until_dropout=until_dropout,
    )


def simulate_future_purchases(
    customers: SimulatedCustomers, *, horizon: float, seed: int
) -> np.ndarray:
    """Purchases each simulated customer makes in (T, T + horizon]: a draw of the holdout."""
    rng = np.random.default_rng(seed)
    remaining = customers.purchases_until_dropout - customers.x
    # A customer who made every purchase they had in them has already dropped out.
    alive = remaining > 0
    arrivals = rng.poisson(customers.rate * horizon)
    return np.where(alive, np.minimum(arrivals, np.maximum(remaining, 0)), 0).astype(float)


def simulate_gamma_gamma(
    *, transactions: np.ndarray, p: float, q: float, v: float, seed: int
) -> np.ndarray:
    """The average value of each customer's `transactions` purchases (NaN where none).

    nu ~ Gamma(q, rate v) per customer; each purchase ~ Gamma(p, rate nu); the mean of n of them
    is Gamma(n·p, rate n·nu).
    """
    rng = np.random.default_rng(seed)
    n = np.asarray(transactions, dtype=float)
    nu = rng.gamma(shape=q, scale=1.0 / v, size=n.shape)
    positive = n > 0
    average = np.full(n.shape, np.nan)
    average[positive] = rng.gamma(shape=n[positive] * p, scale=1.0 / (n[positive] * nu[positive]))
    return average
