"""Time to fit and score a million simulated customers (BG/NBD + Gamma-Gamma).

    .venv/bin/python bench/bench_predictions.py [--customers N] [--repeat K]

Prints, for each stage, the median of K runs: compressing the customers into unique
(x, t_x, T) triples and (n, m) pairs, fitting both models, and scoring every customer in
chunks of 10,000 (the recompute engine's chunk size) with the vectorized scorer. Also prints
the recovered parameters next to the true ones. The database is not involved: the service
groups the same inputs in SQL before this point. With --service, also times the recompute
engine's path, `VenueModel.predict_chunk`, which turns each chunk into per-customer dicts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from customer_intel.analytics.predictive import (
    bgnbd,
    gamma_gamma,
    scoring,
    simulate,
)

TRUE_BGNBD = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0}
TRUE_GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}
CHUNK = 10_000


def _venue_model(purchases, spend):  # type: ignore[no-untyped-def]
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    django.setup()
    from datetime import UTC, datetime

    from customer_intel.services.predictions import VenueModel

    return VenueModel(
        venue_id=None,
        as_of=datetime(2026, 1, 1, tzinfo=UTC),
        usable=True,
        reason="",
        bgnbd_params=purchases.params,
        gamma_gamma_params=spend.params,
    )


def run_once(size: int, seed: int, *, service: bool = False) -> dict[str, float]:
    ages = np.random.default_rng(seed).uniform(1, 156, size)
    customers = simulate.simulate_bgnbd(size=size, observation=ages, seed=seed + 1, **TRUE_BGNBD)
    transactions = customers.x + 1
    values = simulate.simulate_gamma_gamma(
        transactions=transactions, seed=seed + 2, **TRUE_GAMMA_GAMMA
    )
    repeat = customers.x > 0
    timings: dict[str, float] = {}

    started = time.perf_counter()
    triples = bgnbd.compress_customers(customers.x, customers.t_x, customers.T)
    pairs = gamma_gamma.compress_values(transactions[repeat], values[repeat])
    timings["compress"] = time.perf_counter() - started

    started = time.perf_counter()
    purchases = bgnbd.fit_bgnbd(*triples)
    spend = gamma_gamma.fit_gamma_gamma(*pairs)
    timings["fit"] = time.perf_counter() - started
    assert purchases.usable and spend.usable, (purchases.reason, spend.reason)

    started = time.perf_counter()
    for start in range(0, size, CHUNK):
        chunk = slice(start, start + CHUNK)
        scoring.predict_customers(
            bgnbd_params=purchases.params,
            gamma_gamma_params=spend.params,
            repeat_purchases=customers.x[chunk],
            recency_days=customers.t_x[chunk] * 7,
            age_days=customers.T[chunk] * 7,
            average_value=values[chunk],
            annual_discount_rate=0.10,
        )
    timings["score"] = time.perf_counter() - started
    timings["total"] = timings["compress"] + timings["fit"] + timings["score"]
    if service:
        model = _venue_model(purchases, spend)
        started = time.perf_counter()
        for start in range(0, size, CHUNK):
            chunk = slice(start, start + CHUNK)
            model.predict_chunk(
                repeat_purchases=customers.x[chunk],
                recency_days=customers.t_x[chunk] * 7,
                age_days=customers.T[chunk] * 7,
                average_value=values[chunk],
            )
        timings["service"] = time.perf_counter() - started
    timings["unique_triples"] = len(triples[0])
    timings["unique_pairs"] = len(pairs[0])
    for name, value in {**purchases.params, **spend.params}.items():
        timings[f"param_{name}"] = value
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--service", action="store_true", help="Also time VenueModel.predict_chunk (dicts)."
    )
    args = parser.parse_args()

    runs = [
        run_once(args.customers, seed=100 + k, service=args.service) for k in range(args.repeat)
    ]
    print(f"customers: {args.customers:,}  runs: {args.repeat}  (median seconds)")
    stages = ["compress", "fit", "score", "total"] + (["service"] if args.service else [])
    for stage in stages:
        values = [run[stage] for run in runs]
        print(f"  {stage:<9} {statistics.median(values):7.2f}  (min {min(values):.2f})")
    print(f"  unique (x, t_x, T) triples: {int(runs[0]['unique_triples']):,}")
    print(f"  unique (n, m) pairs:        {int(runs[0]['unique_pairs']):,}")
    truth = {**TRUE_BGNBD, **TRUE_GAMMA_GAMMA}
    recovered = ", ".join(
        f"{name}={statistics.median(run[f'param_{name}'] for run in runs):.3f} ({value})"
        for name, value in truth.items()
    )
    print(f"  estimates (true): {recovered}")


if __name__ == "__main__":
    main()
