"""Per-venue probabilistic predictions: choose and fit the purchase model, fit Gamma-Gamma,
store the fit, score chunks of customers.

A venue's fit (`fit_venue_model`) reads its inputs grouped from the database
(`prediction_inputs`), holds out the last part of the venue's history to compare BG/NBD,
MBG/NBD and Pareto/NBD (`analytics.predictive.selection`), refits the best on all the data,
fits Gamma-Gamma, and stores all of it, usable or refused, as a `PredictionModelFit` row.

The recompute engine calls `chunk_predictor(venue=, as_of=, run=)` once per run and the
returned `VenueModel` once per chunk of facts::

    predictor = chunk_predictor(venue=venue, as_of=as_of, run=run)
    for chunk in facts_service.facts_iter_chunks(venue=venue, chunk_size=20_000):
        predictions = predictor(chunk)  # {pseudonym: {"probability_alive": 0.83, ...}}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.predictive import gamma_gamma, scoring, selection
from customer_intel.analytics.predictive.fitting import MIN_REPEAT_CUSTOMERS, FitResult
from customer_intel.analytics.predictive.inputs import (
    DAYS_PER_WEEK,
    TIME_UNIT,
    CustomerInputs,
    compress_customers,
    days_between,
)
from customer_intel.analytics.predictive.models import MODELS, purchase_model
from customer_intel.analytics.predictive.outputs import PREDICTION_KEYS
from customer_intel.analytics.vocabulary import local_day_number
from customer_intel.models import PredictionModelFit, RecomputeRun, RunMode, Venue
from customer_intel.services.prediction_inputs import (
    DayLog,
    FitInputs,
    day_log_from_events,
    facts_hold_later_purchases,
    fit_inputs_from_facts,
    scoring_inputs,
)

logger = logging.getLogger(__name__)

NO_PURCHASE_REASON = "no purchase yet"
NO_FIT_REASON = "no purchase model has been fitted for this venue yet"
SPEND_REASON_PREFIX = "lifetime value unavailable: "
# CustomerProfile.prediction_unavailable_reason holds 200 characters.
MAX_REASON_LENGTH = 200
# The largest amount a MONEY column (14 digits, 2 decimals) holds.
_MAX_MONEY_FLOAT = 999_999_999_999.99


@dataclass
class VenueModel:
    """A venue's fitted purchase and spend models, ready to score chunks of customers.

    Callable on a chunk of `CustomerFactsRow` (the recompute engine's `ChunkPredictor`).
    When the purchase model is unusable every prediction is None with `reason`; when only the
    spend model is, the lifetime values are None and the reason says why.
    """

    venue_id: Any
    as_of: datetime
    usable: bool
    reason: str
    timezone: str = "UTC"
    model: str = ""
    params: dict[str, float] = field(default_factory=dict)
    gamma_gamma_params: dict[str, float] | None = None
    spend_reason: str = ""
    annual_discount_rate: float = 0.10
    fit_id: int | None = None

    def __call__(self, facts: Sequence[CustomerFactsRow]) -> dict[str, dict[str, Any]]:
        return self.predict_facts(facts)

    def predict_facts(self, facts: Sequence[CustomerFactsRow]) -> dict[str, dict[str, Any]]:
        """Predictions for a chunk of customers' facts (as of `self.as_of`), by pseudonym."""
        inputs = scoring_inputs(facts=facts, as_of=self.as_of, tz=ZoneInfo(self.timezone))
        predictions = self.predict_chunk(inputs)
        return {
            row.customer: prediction for row, prediction in zip(facts, predictions, strict=True)
        }

    def predict_chunk(self, inputs: CustomerInputs) -> list[dict[str, Any]]:
        """One dict per customer, keys `PREDICTION_KEYS`, in input order."""
        size = len(inputs.x)
        if not self.usable:
            return [_unavailable(self.reason) for _ in range(size)]
        predictions = scoring.predict_customers(
            model=purchase_model(self.model),
            params=self.params,
            gamma_gamma_params=self.gamma_gamma_params,
            inputs=inputs,
            annual_discount_rate=self.annual_discount_rate,
        )
        scored = inputs.buyers.tolist()
        spend_reason = "" if self.gamma_gamma_params is not None else self.spend_reason
        model = self.model
        as_of = self.as_of
        next_order = [
            None if days is None else as_of + timedelta(days=days)
            for days in _nullable(predictions.days_to_next_order)
        ]
        columns = zip(
            scored,
            _nullable(predictions.probability_alive),
            _nullable(predictions.expected_purchases_30d),
            _nullable(predictions.expected_purchases_90d),
            _nullable(predictions.expected_purchases_365d),
            _money_column(predictions.predicted_clv_365d),
            _money_column(predictions.predicted_clv_3y),
            next_order,
            _nullable(predictions.average_days_between_orders),
            strict=True,
        )
        # Built column-wise with dict displays: a million customers must cost neither a
        # million numpy scalar calls nor a million dict(zip()) calls.
        return [
            {
                "probability_alive": alive,
                "expected_purchases_90d": in_90,
                "expected_purchases_365d": in_365,
                "predicted_clv_365d": value_365,
                "predicted_clv_3y": value_3y,
                "expected_next_order_at": next_at,
                "average_days_between_orders": between,
                "prediction_model": model,
                "prediction_unavailable_reason": spend_reason,
                "expected_purchases_30d": in_30,
            }
            if is_scored
            else _unavailable(NO_PURCHASE_REASON)
            for (
                is_scored,
                alive,
                in_30,
                in_90,
                in_365,
                value_365,
                value_3y,
                next_at,
                between,
            ) in columns
        ]


def _unavailable(reason: str) -> dict[str, Any]:
    prediction: dict[str, Any] = dict.fromkeys(PREDICTION_KEYS)
    prediction["prediction_model"] = ""
    prediction["prediction_unavailable_reason"] = reason
    return prediction


def _nullable(values: np.ndarray) -> list[float | None]:
    """Floats, with None where the value is NaN or infinite."""
    finite = np.isfinite(values)
    return np.where(finite, values, None).tolist() if not finite.all() else values.tolist()


def _money_column(values: np.ndarray) -> list[Decimal | None]:
    """Amounts rounded half-up to the cent as Decimals, clamped to what a MONEY column holds."""
    finite = np.isfinite(values)
    cents = np.floor(np.clip(np.where(finite, values, 0.0), 0.0, _MAX_MONEY_FLOAT) * 100 + 0.5)
    return [
        Decimal(int(amount)).scaleb(-2) if is_finite else None
        for amount, is_finite in zip(cents.tolist(), finite.tolist(), strict=True)
    ]


@dataclass(frozen=True, slots=True)
class FitOutcome:
    """A venue's model choice, its spend fit, and where the inputs came from."""

    choice: selection.Choice
    spend: FitResult
    inputs: FitInputs
    seconds: float


def models_fit(
    *, inputs: FitInputs, day_log: DayLog | None, as_of_day: int, forced: str | None
) -> FitOutcome:
    """Choose the purchase model (holdout comparison on `day_log` when given), refit it on
    `inputs`, and fit Gamma-Gamma."""
    started = time.perf_counter()
    comparison = None
    span_days = round(inputs.first_purchase_weeks_ago * DAYS_PER_WEEK)
    held_out = selection.holdout_days(span_days=span_days)
    if day_log is not None and held_out > 0 and day_log.customers:
        cutoff = as_of_day - held_out
        comparison = selection.compare_on_holdout(
            calibration=day_log.inputs(as_of_day=cutoff, with_refunds=False),
            actual=days_between(
                customer=day_log.customer,
                day=day_log.day,
                customers=day_log.customers,
                after_day=cutoff,
                upto_day=as_of_day,
            ),
            holdout_days=held_out,
        )
    choice = selection.choose_model(triples=inputs.triples, comparison=comparison, forced=forced)
    spend = gamma_gamma.fit_gamma_gamma(
        inputs.spend_transactions, inputs.spend_average, inputs.spend_customers
    )
    return FitOutcome(choice, spend, inputs, time.perf_counter() - started)


def venue_fit_inputs(*, venue: Venue, as_of: datetime) -> tuple[FitInputs, DayLog]:
    """The fit's inputs and the day log its model choice compares on.

    From the facts table, grouped in SQL, with a sample of customers' purchase days for the
    holdout; or, when the facts hold purchases after `as_of` (a reproducible run in the past),
    both from the event log up to as-of.
    """
    tz = ZoneInfo(venue.timezone)
    if facts_hold_later_purchases(venue=venue, as_of=as_of):
        day_log = day_log_from_events(venue=venue, end=as_of)
        everyone = day_log.inputs(as_of_day=local_day_number(as_of, tz))
        buyers = everyone.buyers
        transactions, average, spend_customers = gamma_gamma.compress_values(
            everyone.spend_transactions, everyone.spend_average
        )
        inputs = FitInputs(
            triples=compress_customers(
                everyone.x[buyers], everyone.t_x[buyers], everyone.T[buyers]
            ),
            spend_transactions=transactions,
            spend_average=average,
            spend_customers=spend_customers,
            source="customer_events",
        )
        return inputs, day_log
    inputs = fit_inputs_from_facts(venue=venue, as_of=as_of)
    bound = selection.selection_sample_bound(customers=inputs.customers)
    return inputs, day_log_from_events(venue=venue, end=as_of, pseudonym_below=bound)


def fit_venue_model(
    *, venue: Venue, as_of: datetime, run: RecomputeRun | None = None
) -> VenueModel:
    """Choose and fit the venue's purchase model and Gamma-Gamma as of `as_of`, store the fit,
    return it as a scoring model.

    Only customers whose first purchase is at or before `as_of` take part. A fit that is
    refused (too few repeat customers, no convergence, degenerate parameters) is stored with
    its reason and gives a model whose predictions are all None with that reason.
    """
    started = time.perf_counter()
    inputs, day_log = venue_fit_inputs(venue=venue, as_of=as_of)
    outcome = models_fit(
        inputs=inputs,
        day_log=day_log,
        as_of_day=local_day_number(as_of, ZoneInfo(venue.timezone)),
        forced=venue.prediction_model or None,
    )
    fit = _store(venue=venue, as_of=as_of, run=run, outcome=outcome, started=started)
    logger.info(
        "prediction model fitted venue=%s fit=%s model=%s basis=%s usable=%s spend_usable=%s "
        "customers=%d repeat_customers=%d seconds=%.3f reason=%r",
        venue.pk,
        fit.pk,
        fit.model or "-",
        outcome.choice.basis,
        fit.usable,
        outcome.spend.usable,
        fit.customers_used,
        fit.repeat_customers,
        fit.fit_seconds,
        fit.reason,
    )
    return venue_model_from_fit(fit=fit, venue=venue, as_of=as_of)


def _store(
    *, venue: Venue, as_of: datetime, run: RecomputeRun | None, outcome: FitOutcome, started: float
) -> PredictionModelFit:
    choice, spend, triples = outcome.choice, outcome.spend, outcome.inputs.triples
    purchases = choice.fit
    reason = choice.reason
    if choice.usable and not spend.usable:
        reason = SPEND_REASON_PREFIX + spend.reason
    return PredictionModelFit.objects.create(
        venue=venue,
        run=run,
        as_of=as_of,
        time_unit=TIME_UNIT,
        model=choice.model or "",
        usable=choice.usable,
        reason=reason[:300],
        customers_used=int(np.rint(triples.weights.sum())),
        repeat_customers=int(np.rint(triples.weights[triples.x > 0].sum())),
        purchase_params=purchases.params if purchases is not None else {},
        purchase_log_likelihood=purchases.log_likelihood if purchases is not None else None,
        gamma_gamma_params=spend.params,
        gamma_gamma_log_likelihood=spend.log_likelihood,
        selection=_json_safe(choice.summary()),
        diagnostics={
            "source": outcome.inputs.source,
            "min_repeat_customers": MIN_REPEAT_CUSTOMERS,
            "time_resolution": "whole local days, in weeks (days / 7)",
            "purchase_model": {
                "model": purchases.model if purchases is not None else "",
                "usable": choice.usable,
                "reason": purchases.reason if purchases is not None else "",
                "iterations": purchases.iterations if purchases is not None else 0,
                **_json_safe(purchases.diagnostics if purchases is not None else {}),
            },
            "gamma_gamma": {
                "usable": spend.usable,
                "reason": spend.reason,
                "customers": spend.n_customers,
                "iterations": spend.iterations,
                **_json_safe(spend.diagnostics),
            },
        },
        fit_seconds=time.perf_counter() - started,
    )


def _json_safe(values: Any) -> Any:
    """Diagnostics with non-finite floats (not valid JSON) written as strings."""
    if isinstance(values, Mapping):
        return {key: _json_safe(value) for key, value in values.items()}
    if isinstance(values, list | tuple):
        return [_json_safe(value) for value in values]
    if isinstance(values, float) and not np.isfinite(values):
        return str(values)
    return values


def venue_model_from_fit(*, fit: PredictionModelFit, venue: Venue, as_of: datetime) -> VenueModel:
    """A scoring model from a stored fit, scoring customers as of `as_of`."""
    spend = fit.diagnostics.get("gamma_gamma", {})
    spend_usable = bool(spend.get("usable"))
    spend_reason = ""
    if not spend_usable:
        spend_reason = SPEND_REASON_PREFIX + str(spend.get("reason") or "no spend model")
    rate = float(venue.annual_discount_rate)
    if not np.isfinite(rate) or rate < 0:
        logger.warning("invalid annual_discount_rate venue=%s rate=%r; using 0", venue.pk, rate)
        rate = 0.0
    usable = fit.usable and fit.model in MODELS
    return VenueModel(
        venue_id=venue.pk,
        as_of=as_of,
        timezone=venue.timezone,
        usable=usable,
        reason=(fit.reason or "")[:MAX_REASON_LENGTH],
        model=fit.model if usable else "",
        params=dict(fit.purchase_params),
        gamma_gamma_params=dict(fit.gamma_gamma_params) if spend_usable else None,
        spend_reason=spend_reason[:MAX_REASON_LENGTH],
        annual_discount_rate=rate,
        fit_id=fit.pk,
    )


def venue_model_load(*, venue: Venue, as_of: datetime) -> VenueModel | None:
    """The venue's latest stored fit (usable or not) as a scoring model, or None if none."""
    fit = PredictionModelFit.objects.filter(venue=venue).order_by("-fitted_at", "-pk").first()
    if fit is None:
        return None
    return venue_model_from_fit(fit=fit, venue=venue, as_of=as_of)


def chunk_predictor(
    *, venue: Venue, as_of: datetime, run: RecomputeRun | None
) -> VenueModel | None:
    """The recompute engine's per-run model: a full run refits; an incremental run reuses the
    latest fit (fitting only when the venue has none); the on-demand single customer
    (`run=None`) only loads, and gets no predictions while the venue has no fit."""
    if run is not None and run.mode == RunMode.FULL:
        return fit_venue_model(venue=venue, as_of=as_of, run=run)
    model = venue_model_load(venue=venue, as_of=as_of)
    if model is None and run is not None:
        return fit_venue_model(venue=venue, as_of=as_of, run=run)
    if model is None:
        return VenueModel(venue_id=venue.pk, as_of=as_of, usable=False, reason=NO_FIT_REASON)
    return model
