"""Choosing a venue's purchase model by its holdout error, refitting it, and the fallbacks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from customer_intel.analytics.predictive import inputs, selection, simulate
from customer_intel.analytics.predictive.models import MODEL_NAMES

PARAMS = {"r": 0.5, "alpha": 20.0, "a": 0.8, "b": 2.5}
END_DAY = 1100


def _history(model: str, size: int, seed: int):  # type: ignore[no-untyped-def]
    first_days = np.random.default_rng(seed).integers(0, END_DAY, size)
    params = PARAMS if model != "pareto_nbd" else {"r": 0.5, "alpha": 20.0, "s": 0.8, "beta": 60.0}
    return simulate.simulate_day_log(
        model=model, params=params, first_days=first_days, end_day=END_DAY, seed=seed + 1
    )


def _compare_and_choose(log, *, forced=None):  # type: ignore[no-untyped-def]
    held_out = selection.holdout_days(span_days=END_DAY)
    cutoff = END_DAY - held_out
    calibration_histories = inputs.histories_from_days(
        customer=log.customer,
        day=log.day,
        cents=log.cents,
        customers=log.customers,
        upto_day=cutoff,
    )
    calibration = inputs.customer_inputs(
        histories=calibration_histories,
        net_cents=calibration_histories.gross_cents,
        as_of_day=cutoff,
    )
    actual = inputs.days_between(
        customer=log.customer,
        day=log.day,
        customers=log.customers,
        after_day=cutoff,
        upto_day=END_DAY,
    )
    comparison = selection.compare_on_holdout(
        calibration=calibration, actual=actual, holdout_days=held_out
    )
    everyone = inputs.histories_from_days(
        customer=log.customer, day=log.day, cents=log.cents, customers=log.customers
    )
    full = inputs.customer_inputs(
        histories=everyone, net_cents=everyone.gross_cents, as_of_day=END_DAY
    )
    triples = inputs.compress_customers(full.x, full.t_x, full.T)
    return comparison, selection.choose_model(triples=triples, comparison=comparison, forced=forced)


@pytest.mark.parametrize(
    ("span_days", "expected"), [(2000, 182), (728, 182), (700, 175), (40, 10), (0, 0)]
)
def test_the_holdout_is_26_weeks_or_a_quarter_of_a_shorter_span(span_days, expected) -> None:
    assert selection.holdout_days(span_days=span_days) == expected


@pytest.mark.parametrize(
    ("customers", "share", "bound"),
    [(1, 1.0, None), (100_000, 1.0, None), (1_000_000, 25 / 256, "19"), (10**9, 1 / 256, "01")],
)
def test_large_venues_compare_on_a_fixed_share_of_their_customers(customers, share, bound) -> None:
    assert selection.selection_sample_share(customers=customers) == share
    assert selection.selection_sample_bound(customers=customers) == bound
    if 1 / 256 < share < 1.0:
        assert share * customers <= selection.MAX_HOLDOUT_CUSTOMERS


def test_where_one_time_buyers_lapse_the_choice_is_a_model_that_lets_them() -> None:
    comparison, choice = _compare_and_choose(_history("mbgnbd", 40_000, seed=3))

    assert comparison.holdout_days == 182
    assert comparison.customers > 30_000
    scores = {c.model: c.holdout_mae for c in comparison.candidates}
    assert set(scores) == set(MODEL_NAMES)
    assert all(score is not None and score > 0 for score in scores.values())
    assert choice.basis == selection.BY_HOLDOUT
    assert choice.model == min(scores, key=lambda name: scores[name])
    assert choice.model in ("mbgnbd", "pareto_nbd")
    assert scores[choice.model] < scores["bgnbd"]
    assert choice.usable and choice.fit.model == choice.model
    assert choice.fit.n_customers == 40_000  # refitted on all the data
    summary = choice.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["chosen"] == choice.model
    assert [c["model"] for c in summary["candidates"]] == list(MODEL_NAMES)


def test_a_forced_model_is_used_even_when_another_scores_better() -> None:
    comparison, choice = _compare_and_choose(_history("mbgnbd", 20_000, seed=5), forced="bgnbd")
    assert choice.basis == selection.FORCED
    assert choice.model == "bgnbd" and choice.usable
    # The candidates' scores are still recorded for the operator.
    assert all(c.holdout_mae is not None for c in comparison.candidates)


def test_a_refused_forced_model_leaves_no_model_and_says_why() -> None:
    _comparison, choice = _compare_and_choose(_history("mbgnbd", 300, seed=7), forced="pareto_nbd")
    assert choice.model is None and not choice.usable
    assert choice.reason.startswith("not enough repeat customers")


def test_without_holdout_evidence_the_models_are_ranked_by_log_likelihood() -> None:
    log = _history("mbgnbd", 20_000, seed=9)
    everyone = inputs.histories_from_days(
        customer=log.customer, day=log.day, cents=log.cents, customers=log.customers
    )
    full = inputs.customer_inputs(
        histories=everyone, net_cents=everyone.gross_cents, as_of_day=END_DAY
    )
    triples = inputs.compress_customers(full.x, full.t_x, full.T)

    choice = selection.choose_model(triples=triples, comparison=None)

    assert choice.basis == selection.BY_LOG_LIKELIHOOD
    assert {fit.model for fit in choice.refits} == set(MODEL_NAMES)
    best = max((fit for fit in choice.refits if fit.usable), key=lambda fit: fit.log_likelihood)
    assert choice.model == best.model


def test_when_no_model_is_usable_the_shared_reason_is_given() -> None:
    comparison, choice = _compare_and_choose(_history("mbgnbd", 300, seed=11))
    assert choice.model is None
    assert choice.reason.startswith("not enough repeat customers (")
    assert all(c.holdout_mae is None for c in comparison.candidates)
