"""Time to choose a purchase model, refit it and score a million simulated customers.

    .venv/bin/python bench/bench_predictions.py [--customers N] [--repeat K] [--model M]

Simulates three years of purchase days (one row per customer and day, as the service reads
them) from one of the purchase models, then times what a venue's nightly run does after its
database reads:

- inputs: the model inputs of every customer, as of the end and as of the holdout's start
  (`inputs.histories_from_days`, `inputs.customer_inputs`), and their compression into unique
  (x, t_x, T) triples;
- choose: the holdout comparison (every model fitted on the calibration part, scored on the
  last 26 weeks) over the customers the service would read for it (`selection_sample_share`);
- refit: the chosen model on all the data, and Gamma-Gamma;
- score: every customer in chunks of 20,000 (the recompute engine's chunk size) with the
  vectorized scorer.

Prints the median of K runs per stage, the chosen model, the candidates' holdout MAE and the
recovered parameters. The database is not involved: the service groups the same inputs in SQL.
The budget the nightly run is held to: choose + refit + score within 20 s at a million.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from customer_intel.analytics.predictive import gamma_gamma, inputs, scoring, selection, simulate
from customer_intel.analytics.predictive.models import MODELS

TRUE = {
    "bgnbd": {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0},
    "mbgnbd": {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 3.0},
    "pareto_nbd": {"r": 0.5, "alpha": 8.0, "s": 0.8, "beta": 60.0},
}
TRUE_GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}
CHUNK = 20_000
HISTORY_DAYS = 3 * 365


def run_once(size: int, seed: int, model: str) -> dict[str, float | str]:
    rng = np.random.default_rng(seed)
    first_days = rng.integers(0, HISTORY_DAYS, size)
    log = simulate.simulate_day_log(
        model=model,
        params=TRUE[model],
        first_days=first_days,
        end_day=HISTORY_DAYS,
        seed=seed + 1,
        spend=TRUE_GAMMA_GAMMA,
    )
    refunds = np.zeros(size, dtype=np.int64)
    timings: dict[str, float | str] = {}

    started = time.perf_counter()
    histories = inputs.histories_from_days(
        customer=log.customer, day=log.day, cents=log.cents, customers=size
    )
    everyone = inputs.customer_inputs(
        histories=histories,
        net_cents=inputs.net_spent_cents(histories.gross_cents, refunds),
        as_of_day=HISTORY_DAYS,
    )
    triples = inputs.compress_customers(everyone.x, everyone.t_x, everyone.T)
    spend = gamma_gamma.compress_values(everyone.spend_transactions, everyone.spend_average)
    holdout = selection.holdout_days(span_days=HISTORY_DAYS)
    cutoff = HISTORY_DAYS - holdout
    share = selection.selection_sample_share(customers=size)
    sampled = np.flatnonzero(rng.random(size) < share)
    in_sample = np.isin(log.customer, sampled)
    position = np.searchsorted(sampled, log.customer[in_sample])
    calibration_histories = inputs.histories_from_days(
        customer=position,
        day=log.day[in_sample],
        cents=log.cents[in_sample],
        customers=len(sampled),
        upto_day=cutoff,
    )
    calibration = inputs.customer_inputs(
        histories=calibration_histories,
        net_cents=calibration_histories.gross_cents,
        as_of_day=cutoff,
    )
    actual = inputs.days_between(
        customer=position,
        day=log.day[in_sample],
        customers=len(sampled),
        after_day=cutoff,
        upto_day=HISTORY_DAYS,
    )
    timings["inputs"] = time.perf_counter() - started

    started = time.perf_counter()
    comparison = selection.compare_on_holdout(
        calibration=calibration, actual=actual, holdout_days=holdout
    )
    timings["choose"] = time.perf_counter() - started

    started = time.perf_counter()
    choice = selection.choose_model(triples=triples, comparison=comparison)
    value_fit = gamma_gamma.fit_gamma_gamma(*spend)
    timings["refit"] = time.perf_counter() - started
    assert choice.usable and value_fit.usable, (choice.reason, value_fit.reason)

    started = time.perf_counter()
    chosen = MODELS[choice.model]
    for start in range(0, size, CHUNK):
        part = slice(start, start + CHUNK)
        scoring.predict_customers(
            model=chosen,
            params=choice.fit.params,
            gamma_gamma_params=value_fit.params,
            inputs=inputs.CustomerInputs(
                x=everyone.x[part],
                t_x=everyone.t_x[part],
                T=everyone.T[part],
                spend_transactions=everyone.spend_transactions[part],
                spend_average=everyone.spend_average[part],
            ),
            annual_discount_rate=0.10,
        )
    timings["score"] = time.perf_counter() - started
    timings["total"] = sum(timings[k] for k in ("choose", "refit", "score"))  # type: ignore[misc]
    timings["chosen"] = choice.model or "-"
    timings["triples"] = len(triples)
    timings["pairs"] = choice.fit.diagnostics.get("distinct_pairs", 0)
    timings["sampled"] = len(sampled)
    for candidate in comparison.candidates:
        timings[f"mae_{candidate.model}"] = (
            candidate.holdout_mae if candidate.holdout_mae is not None else float("nan")
        )
    for name, value in {**choice.fit.params, **value_fit.params}.items():
        timings[f"param_{name}"] = value
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", choices=sorted(TRUE), default="mbgnbd")
    args = parser.parse_args()

    runs = [run_once(args.customers, seed=100 + k, model=args.model) for k in range(args.repeat)]
    print(
        f"customers: {args.customers:,}  simulated from: {args.model}  runs: {args.repeat}  "
        "(median seconds)"
    )
    for stage in ("inputs", "choose", "refit", "score", "total"):
        values = [float(run[stage]) for run in runs]
        print(f"  {stage:<7} {statistics.median(values):7.2f}  (min {min(values):.2f})")
    print("  (total = choose + refit + score; inputs are read grouped from the database)")
    print(f"  chosen: {', '.join(str(run['chosen']) for run in runs)}")
    print(
        f"  unique (x, t_x, T) triples: {int(runs[0]['triples']):,}; distinct (x, t) pairs: "
        f"{int(runs[0]['pairs']):,}; holdout sample: {int(runs[0]['sampled']):,} customers"
    )
    maes = ", ".join(
        f"{MODELS[name].label} {statistics.median(float(run[f'mae_{name}']) for run in runs):.4f}"
        for name in MODELS
    )
    print(f"  holdout MAE: {maes}")
    estimates = ", ".join(
        f"{name}={statistics.median(float(run[f'param_{name}']) for run in runs):.3f}"
        for name in (*MODELS[str(runs[0]["chosen"])].param_names, *TRUE_GAMMA_GAMMA)
    )
    truth = ", ".join(f"{k}={v}" for k, v in {**TRUE[args.model], **TRUE_GAMMA_GAMMA}.items())
    print(f"  estimates of the chosen model: {estimates}")
    print(f"  simulated from {args.model}: {truth}")


if __name__ == "__main__":
    main()
