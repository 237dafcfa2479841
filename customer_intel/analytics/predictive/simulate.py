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
    dropout_after_first: bool = False,
) -> SimulatedCustomers:
    """`size` customers observed for `observation` time units since their first purchase.

    With `dropout_after_first` the coin is also flipped after the first purchase (MBG/NBD).

    Draws the number of Poisson arrivals in the window and the geometric number of purchases
    before dropout; the customer makes the smaller of the two. Given N arrivals in [0, T] their
    times are sorted uniforms, so the x-th arrival is T · Beta(x, N - x + 1).
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(observation, dtype=float), (size,)).copy()
    rate = rng.gamma(shape=r, scale=1.0 / alpha, size=size)
    dropout = rng.beta(a, b, size=size)
    arrivals = rng.poisson(rate * T)
    until_dropout = rng.geometric(dropout) - (1 if dropout_after_first else 0)
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


def simulate_pareto_nbd(
    *,
    size: int,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    observation: float | np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) of `size` Pareto/NBD customers observed for `observation` time units: Poisson
    purchases at λ ~ Gamma(r, alpha) until an exponential lifetime at μ ~ Gamma(s, beta)."""
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(observation, dtype=float), (size,)).copy()
    rate = rng.gamma(shape=r, scale=1.0 / alpha, size=size)
    lifetime = rng.exponential(1.0 / rng.gamma(shape=s, scale=1.0 / beta, size=size))
    active = np.minimum(T, lifetime)
    x = rng.poisson(rate * active)
    t_x = np.zeros(size)
    repeat = x > 0
    # The last of x uniform arrivals in [0, active].
    t_x[repeat] = active[repeat] * rng.beta(x[repeat], 1)
    return x.astype(float), t_x, T


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


@dataclass(frozen=True, slots=True)
class DayLog:
    """Simulated purchase occasions: one row per (customer, day) with the day's value in cents."""

    customer: np.ndarray
    day: np.ndarray
    cents: np.ndarray
    customers: int


def simulate_day_log(
    *,
    model: str,
    params: dict[str, float],
    first_days: np.ndarray,
    end_day: int,
    seed: int,
    spend: dict[str, float] | None = None,
) -> DayLog:
    """Purchase days of customers whose first purchase is on `first_days`, up to `end_day`.

    `model` is "bgnbd", "mbgnbd" or "pareto_nbd", with that model's parameters (rates per
    week). Purchases are Poisson arrivals at the customer's rate; a BG/NBD customer drops out
    after each repeat purchase with probability p, an MBG/NBD customer after every purchase, a
    Pareto/NBD customer at an exponential lifetime. Each first purchase is at a random time of
    its day, observation ends at midday of `end_day`, and purchases are then counted by day:
    two arrivals on one day are one occasion, so at high rates the occasions are fewer than
    the arrivals the parameters describe. With `spend` (Gamma-Gamma p, q, v in currency units) each
    occasion gets a value.
    """
    rng = np.random.default_rng(seed)
    first_days = np.asarray(first_days, dtype=np.int64)
    size = len(first_days)
    # Purchases happen at some time of their day, and the as-of instant is midday of the last:
    # counted in whole days, times since the first purchase are then unbiased.
    first_at = first_days + rng.uniform(0.0, 1.0, size)
    window = np.maximum(end_day + 0.5 - first_at, 0.0) / 7.0
    rate = rng.gamma(shape=params["r"], scale=1.0 / params["alpha"], size=size)
    if model == "pareto_nbd":
        lifetime = rng.exponential(
            1.0 / rng.gamma(shape=params["s"], scale=1.0 / params["beta"], size=size)
        )
        active = np.minimum(window, lifetime)
        limit = np.full(size, np.iinfo(np.int64).max)
    else:
        active = window
        dropout = rng.beta(params["a"], params["b"], size=size)
        # Repeat purchases before dropping out: BG/NBD flips the coin after each repeat
        # purchase, MBG/NBD after the first purchase too.
        limit = rng.geometric(dropout) - (1 if model == "mbgnbd" else 0)
    arrivals = rng.poisson(rate * active)
    owner = np.repeat(np.arange(size), arrivals)
    # Given N arrivals in [0, active], their times are N sorted uniforms on it; a customer who
    # drops out makes the first `limit` of them.
    times = rng.uniform(0.0, 1.0, size=owner.size) * active[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    kept = rank < limit[owner]
    owner, times = owner[kept], times[kept]
    days = np.floor(first_at[owner] + times * 7.0).astype(np.int64)
    customer = np.concatenate([np.arange(size), owner])
    day = np.concatenate([first_days, np.minimum(days, end_day)])
    key = np.unique(customer * (int(day.max()) + 1) + day)
    customer, day = key // (int(day.max()) + 1), key % (int(day.max()) + 1)
    cents = np.zeros(len(customer), dtype=np.int64)
    if spend is not None:
        nu = rng.gamma(shape=spend["q"], scale=1.0 / spend["v"], size=size)
        values = rng.gamma(shape=spend["p"], scale=1.0 / nu[customer])
        cents = np.maximum(np.rint(values * 100), 1).astype(np.int64)
    return DayLog(customer=customer, day=day, cents=cents, customers=size)
