"""Choosing a venue's purchase model by evidence from its own history.

The last part of the history is held out: the last `HOLDOUT_WEEKS` weeks, or a quarter of the
span from the venue's first purchase when that is shorter. Every candidate model is fitted on
the customers' purchases before the holdout, predicts each of those customers' purchase
occasions in the holdout, and is scored by the mean absolute error per customer. The best
usable candidate is refitted on all the data (starting from its calibration estimate). When no
candidate could be fitted on the calibration part (too little history), the candidates are
fitted on all the data and ranked by log-likelihood instead (they have the same number of
parameters). A forced model (a venue setting) skips the ranking but not the refusal rules.

Ranking needs far fewer customers than fitting: above `MAX_HOLDOUT_CUSTOMERS` the comparison
runs on a fixed share of them, those whose pseudonym (a uniform hash) falls below a bound, so
the sample is random, the same from night to night, and read through the customer index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from customer_intel.analytics.predictive import scoring
from customer_intel.analytics.predictive.fitting import FitResult
from customer_intel.analytics.predictive.inputs import (
    DAYS_PER_WEEK,
    CustomerInputs,
    Triples,
    compress_customers,
)
from customer_intel.analytics.predictive.models import MODEL_NAMES, MODELS, purchase_model

HOLDOUT_WEEKS = 26
HOLDOUT_SHARE_OF_SPAN = 0.25
BY_HOLDOUT = "holdout"
BY_LOG_LIKELIHOOD = "log_likelihood"
FORCED = "forced"
MAX_HOLDOUT_CUSTOMERS = 100_000
# The sample is the customers whose pseudonym's first two hex digits are below a bound.
_SAMPLE_STEPS = 256


def holdout_days(*, span_days: int) -> int:
    """Days held out of a history spanning `span_days`: 26 weeks, or a quarter when shorter."""
    return int(min(HOLDOUT_WEEKS * DAYS_PER_WEEK, math.floor(span_days * HOLDOUT_SHARE_OF_SPAN)))


def selection_sample_share(*, customers: int) -> float:
    """The share of a venue's customers the holdout comparison runs on."""
    if customers <= MAX_HOLDOUT_CUSTOMERS:
        return 1.0
    return max(1, (_SAMPLE_STEPS * MAX_HOLDOUT_CUSTOMERS) // customers) / _SAMPLE_STEPS


def selection_sample_bound(*, customers: int) -> str | None:
    """The pseudonym below which customers are in the comparison's sample; None for all."""
    share = selection_sample_share(customers=customers)
    if share >= 1.0:
        return None
    return f"{round(share * _SAMPLE_STEPS):02x}"


@dataclass(frozen=True, slots=True)
class CandidateScore:
    """One candidate's calibration fit and holdout error (None where it could not be scored)."""

    model: str
    calibration_fit: FitResult | None
    holdout_mae: float | None
    predicted_purchases: float | None

    def as_dict(self) -> dict[str, Any]:
        fit = self.calibration_fit
        return {
            "model": self.model,
            "label": MODELS[self.model].label,
            "holdout_mae": self.holdout_mae,
            "predicted_purchases": self.predicted_purchases,
            "usable": bool(fit and fit.usable),
            "reason": fit.reason if fit else "",
            "params": dict(fit.params) if fit else {},
            "log_likelihood": fit.log_likelihood if fit else None,
        }


@dataclass(frozen=True, slots=True)
class HoldoutComparison:
    """The candidates scored on one holdout."""

    holdout_days: int
    customers: int
    actual_purchases: float
    candidates: list[CandidateScore]


@dataclass
class Choice:
    """The chosen model and its fit on all the data, or none with the reason."""

    model: str | None
    fit: FitResult | None
    basis: str
    reason: str
    comparison: HoldoutComparison | None
    refits: list[FitResult] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.fit is not None and self.fit.usable

    def summary(self) -> dict[str, Any]:
        """A JSON-ready record of the choice: basis, holdout and every candidate's score."""
        comparison = self.comparison
        return {
            "chosen": self.model,
            "basis": self.basis,
            "reason": self.reason,
            "holdout_days": comparison.holdout_days if comparison else None,
            "holdout_customers": comparison.customers if comparison else None,
            "holdout_actual_purchases": comparison.actual_purchases if comparison else None,
            "candidates": [c.as_dict() for c in comparison.candidates] if comparison else [],
            "refits": [
                {
                    "model": fit.model,
                    "usable": fit.usable,
                    "reason": fit.reason,
                    "log_likelihood": fit.log_likelihood,
                }
                for fit in self.refits
            ],
        }


def compare_on_holdout(
    *,
    calibration: CustomerInputs,
    actual: np.ndarray,
    holdout_days: int,
    models: tuple[str, ...] = MODEL_NAMES,
    min_repeat_customers: int | None = None,
) -> HoldoutComparison:
    """Fit each model on the calibration inputs and score its holdout predictions (MAE).

    `calibration` holds the customers with a purchase before the holdout, `actual` their
    purchase occasions in it.
    """
    buyers = calibration.buyers
    x, t_x, T = calibration.x[buyers], calibration.t_x[buyers], calibration.T[buyers]
    actual = np.asarray(actual, dtype=float)[buyers]
    triples = compress_customers(x, t_x, T)
    weeks = holdout_days / DAYS_PER_WEEK
    candidates = []
    for name in models:
        model = purchase_model(name)
        fit = model.fit_triples(triples, min_repeat_customers=min_repeat_customers)
        if not fit.usable or holdout_days <= 0:
            candidates.append(CandidateScore(name, fit, None, None))
            continue
        predicted = scoring.expected_purchases(model, fit.params, weeks, x, t_x, T)
        candidates.append(
            CandidateScore(
                name,
                fit,
                holdout_mae=float(np.abs(predicted - actual).mean()),
                predicted_purchases=float(predicted.sum()),
            )
        )
    return HoldoutComparison(
        holdout_days=holdout_days,
        customers=len(x),
        actual_purchases=float(actual.sum()),
        candidates=candidates,
    )


def choose_model(
    *,
    triples: Triples,
    comparison: HoldoutComparison | None,
    forced: str | None = None,
    min_repeat_customers: int | None = None,
) -> Choice:
    """Refit the best candidate on all the data (`triples`), the next one if it is refused.

    The ranking: candidates scored on the holdout by their MAE (ties in `MODEL_NAMES` order);
    without any scored candidate, every model fitted on all the data and ranked by
    log-likelihood. `forced` names the only candidate.
    """
    scored = [c for c in (comparison.candidates if comparison else []) if c.holdout_mae is not None]
    starts: dict[str, Mapping[str, float]] = {
        c.model: c.calibration_fit.params for c in scored if c.calibration_fit is not None
    }
    if forced is not None:
        purchase_model(forced)
        fit = purchase_model(forced).fit_triples(
            triples, start=starts.get(forced), min_repeat_customers=min_repeat_customers
        )
        return Choice(
            model=forced if fit.usable else None,
            fit=fit,
            basis=FORCED,
            reason="" if fit.usable else fit.reason,
            comparison=comparison,
            refits=[fit],
        )
    if scored:
        ranking = sorted(scored, key=lambda c: (c.holdout_mae, MODEL_NAMES.index(c.model)))
        refits = []
        for candidate in ranking:
            fit = purchase_model(candidate.model).fit_triples(
                triples,
                start=starts.get(candidate.model),
                min_repeat_customers=min_repeat_customers,
            )
            refits.append(fit)
            if fit.usable:
                return Choice(candidate.model, fit, BY_HOLDOUT, "", comparison, refits)
        return Choice(None, refits[0], BY_HOLDOUT, _reasons(refits), comparison, refits)
    refits = [
        purchase_model(name).fit_triples(triples, min_repeat_customers=min_repeat_customers)
        for name in MODEL_NAMES
    ]
    usable = [fit for fit in refits if fit.usable]
    if not usable:
        return Choice(None, refits[0], BY_LOG_LIKELIHOOD, _reasons(refits), comparison, refits)
    best = max(usable, key=lambda fit: fit.log_likelihood or -math.inf)
    return Choice(best.model, best, BY_LOG_LIKELIHOOD, "", comparison, refits)


def _reasons(fits: list[FitResult]) -> str:
    """Why no model is usable: the shared reason, or each model's."""
    reasons = {fit.reason for fit in fits}
    if len(reasons) == 1:
        return fits[0].reason
    return "; ".join(f"{MODELS[fit.model].label}: {fit.reason}" for fit in fits)
