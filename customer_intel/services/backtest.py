"""Backtest of the purchase and spend predictions on a venue's own history.

Every purchase model is fitted on a calibration period (events at or before `calibration_end`),
predicts each calibration customer's purchase occasions and spend in the holdout
(calibration_end, holdout_end], and is compared with what those customers actually did, side by
side with two simpler predictors:

- the audit rule: purchaseFrequency (purchases per year, at least one year of history) times
  holdout years for purchases, and averageOrderValue times that for spend (the audit's
  three-year predictedLifetimeValue scaled to the holdout);
- a naive baseline: every customer keeps their calibration rate (purchase days, and net spend,
  per day since their first purchase day, that age floored at one week) for the holdout.

The model the venue's own choice would have picked from the calibration data alone (holding
out the calibration period's end, as every nightly fit does) is marked, so the backtest also
checks the choice out of sample. Purchases are purchase occasions (distinct local dates);
spend is net of refunds, never below zero per customer. Customers whose first purchase is in
the holdout cannot be predicted by any predictor and are counted apart. A holdout that ends
after now has not been observed and is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from django.utils import timezone

from customer_intel.analytics import rules
from customer_intel.analytics.predictive import gamma_gamma, scoring
from customer_intel.analytics.predictive.fitting import FitResult
from customer_intel.analytics.predictive.inputs import (
    DAYS_PER_WEEK,
    EPOCH_ORDINAL,
    compress_customers,
    net_spent_cents,
)
from customer_intel.analytics.predictive.models import MODELS
from customer_intel.analytics.vocabulary import local_day_number
from customer_intel.models import Venue
from customer_intel.services.prediction_inputs import FitInputs, day_log_from_events
from customer_intel.services.predictions import models_fit

# The naive baseline's floor on a customer's age: a first purchase on the last calibration day
# would otherwise make a rate of one purchase per day.
NAIVE_MIN_AGE_DAYS = 7.0
CURVE_MAX_POINTS = 60

AUDIT_RULE = "audit rule (AOV x frequency)"
NAIVE = "naive (calibration rate)"


class BacktestError(ValueError):
    """The backtest cannot run on these dates or this data; the message says why."""


@dataclass(frozen=True, slots=True)
class ModelScore:
    """One predictor's holdout predictions against the actuals."""

    name: str
    available: bool
    note: str = ""
    chosen: bool = False
    predicted_purchases: float = math.nan
    purchases_mae: float = math.nan
    purchases_rmse: float = math.nan
    predicted_spend: float = math.nan
    spend_mae: float = math.nan
    spend_rmse: float = math.nan


@dataclass
class BacktestResult:
    """Aggregate and per-customer errors of each predictor, the fits, and cumulative curves."""

    calibration_end: datetime
    holdout_end: datetime
    holdout_days: int
    customers: int
    repeat_customers: int
    new_in_holdout: int
    actual_purchases: float
    actual_spend: float
    scores: list[ModelScore]
    purchase_fits: dict[str, FitResult]
    spend_fit: FitResult
    chosen_model: str | None
    choice_basis: str
    curve_days: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curve_actual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curve_predicted: dict[str, np.ndarray] = field(default_factory=dict)


def model_row_name(model: str) -> str:
    """The row of a purchase model in the backtest's table."""
    return f"{MODELS[model].label} + Gamma-Gamma"


def backtest_run(
    *,
    venue: Venue,
    calibration_end: datetime,
    holdout_end: datetime,
    now: datetime | None = None,
) -> BacktestResult:
    """Fit on events at or before `calibration_end`, score the holdout up to `holdout_end`."""
    if holdout_end <= calibration_end:
        raise BacktestError("holdout end must be after calibration end")
    if holdout_end > (now or timezone.now()):
        raise BacktestError(
            "the holdout ends after now: what happens in it has not been observed yet"
        )
    tz = ZoneInfo(venue.timezone)
    calibration_log = day_log_from_events(venue=venue, end=calibration_end)
    if not calibration_log.customers:
        raise BacktestError("the calibration period has no purchases")
    holdout_log = day_log_from_events(venue=venue, start=calibration_end, end=holdout_end)
    calibration_day = local_day_number(calibration_end, tz)
    holdout_days = local_day_number(holdout_end, tz) - calibration_day
    if holdout_days < 1:
        raise BacktestError("the holdout must cover at least one whole day")

    size = calibration_log.customers
    inputs = calibration_log.inputs(as_of_day=calibration_day)
    position = {pseudonym: i for i, pseudonym in enumerate(calibration_log.pseudonyms)}
    code = np.array([position.get(p, -1) for p in holdout_log.pseudonyms], dtype=np.int64)
    known = code >= 0
    actual_purchases = np.bincount(
        code[holdout_log.customer][known[holdout_log.customer]], minlength=size
    ).astype(float)
    holdout_gross = np.bincount(holdout_log.customer, weights=holdout_log.cents).astype(np.int64)
    holdout_net = net_spent_cents(
        np.pad(holdout_gross, (0, holdout_log.customers - len(holdout_gross))),
        holdout_log.refund_cents,
    )
    actual_spend = np.zeros(size)
    actual_spend[code[known]] = holdout_net[known] / 100.0

    triples = compress_customers(inputs.x, inputs.t_x, inputs.T)
    transactions, average, weights = gamma_gamma.compress_values(
        inputs.spend_transactions, inputs.spend_average
    )
    spend_fit = gamma_gamma.fit_gamma_gamma(transactions, average, weights)
    choice = models_fit(
        inputs=FitInputs(triples, transactions, average, weights, "customer_events"),
        day_log=calibration_log,
        as_of_day=calibration_day,
        forced=venue.prediction_model or None,
    ).choice

    baselines = {
        AUDIT_RULE: _audit_rule(calibration_log, inputs, calibration_end, holdout_days, tz),
        NAIVE: _naive(calibration_log, inputs, holdout_days),
    }
    scores = [
        _score(name, purchases, spend, actual_purchases, actual_spend)
        for name, (purchases, spend) in baselines.items()
    ]
    weeks = holdout_days / DAYS_PER_WEEK
    fits: dict[str, FitResult] = {}
    model_purchases: dict[str, np.ndarray] = {}
    for name, model in MODELS.items():
        fit = model.fit_triples(triples)
        fits[name] = fit
        row = model_row_name(name)
        if not fit.usable:
            scores.append(ModelScore(name=row, available=False, note=f"fit refused: {fit.reason}"))
            continue
        purchases = scoring.expected_purchases(
            model, fit.params, weeks, inputs.x, inputs.t_x, inputs.T
        )
        model_purchases[name] = purchases
        spend = np.full(size, np.nan)
        note = ""
        if spend_fit.usable:
            spend = purchases * gamma_gamma.expected_average_value(
                spend_fit.params, inputs.spend_transactions, inputs.spend_average
            )
        else:
            note = f"spend model refused: {spend_fit.reason}"
        score = _score(row, purchases, spend, actual_purchases, actual_spend)
        scores.append(
            ModelScore(**{**_as_kwargs(score), "note": note, "chosen": name == choice.model})
        )

    result = BacktestResult(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        holdout_days=holdout_days,
        customers=size,
        repeat_customers=int((inputs.x > 0).sum()),
        new_in_holdout=int((~known).sum()),
        actual_purchases=float(actual_purchases.sum()),
        actual_spend=float(actual_spend.sum()),
        scores=scores,
        purchase_fits=fits,
        spend_fit=spend_fit,
        chosen_model=choice.model,
        choice_basis=choice.basis,
    )
    _add_curves(
        result,
        holdout_log=holdout_log,
        code=code,
        calibration_day=calibration_day,
        baselines=baselines,
    )
    for name in model_purchases:
        model = MODELS[name]
        result.curve_predicted[model_row_name(name)] = np.array(
            [
                scoring.expected_purchases(
                    model, fits[name].params, day / DAYS_PER_WEEK, inputs.x, inputs.t_x, inputs.T
                ).sum()
                for day in result.curve_days
            ]
        )
    return result


def _audit_rule(log, inputs, calibration_end, holdout_days, tz):  # type: ignore[no-untyped-def]
    """The audit's purchaseFrequency times the holdout in years; averageOrderValue times that.

    The first purchase is taken at the start of its local day (the log's resolution).
    """
    holdout_years = holdout_days * rules.SECONDS_PER_DAY / rules.SECONDS_PER_YEAR
    histories = log.histories()
    orders = np.bincount(log.customer, weights=log.orders, minlength=log.customers)
    net = net_spent_cents(histories.gross_cents, log.refund_cents)
    purchases = np.zeros(log.customers)
    spend = np.zeros(log.customers)
    for i in range(log.customers):
        count = int(orders[i])
        first_day = int(histories.first_day[i]) + EPOCH_ORDINAL
        first = datetime.combine(datetime.fromordinal(first_day).date(), time(0), tzinfo=tz)
        frequency = rules.purchase_frequency(count, first, calibration_end)
        average_order = rules.average_order_value_cents(int(net[i]), count) / 100.0
        purchases[i] = frequency * holdout_years
        spend[i] = average_order * frequency * holdout_years
    return purchases, spend


def _naive(log, inputs, holdout_days):  # type: ignore[no-untyped-def]
    """Calibration purchase days and net spend per day of age, carried over the holdout."""
    histories = log.histories()
    net = net_spent_cents(histories.gross_cents, log.refund_cents) / 100.0
    age_days = np.maximum(inputs.T * DAYS_PER_WEEK, NAIVE_MIN_AGE_DAYS)
    share = holdout_days / age_days
    return histories.purchase_days * share, net * share


def _score(
    name: str,
    purchases: np.ndarray,
    spend: np.ndarray,
    actual_purchases: np.ndarray,
    actual_spend: np.ndarray,
) -> ModelScore:
    spend_available = bool(np.all(np.isfinite(spend)))
    purchase_errors = purchases - actual_purchases
    spend_errors = spend - actual_spend
    return ModelScore(
        name=name,
        available=True,
        predicted_purchases=float(purchases.sum()),
        purchases_mae=float(np.abs(purchase_errors).mean()),
        purchases_rmse=float(np.sqrt((purchase_errors**2).mean())),
        predicted_spend=float(spend.sum()) if spend_available else math.nan,
        spend_mae=float(np.abs(spend_errors).mean()) if spend_available else math.nan,
        spend_rmse=float(np.sqrt((spend_errors**2).mean())) if spend_available else math.nan,
    )


def _as_kwargs(score: ModelScore) -> dict[str, object]:
    return {name: getattr(score, name) for name in ModelScore.__slots__}


def _add_curves(  # type: ignore[no-untyped-def]
    result: BacktestResult, *, holdout_log, code, calibration_day: int, baselines
) -> None:
    """Cumulative actual and predicted purchase days of the calibration customers, by day."""
    points = min(CURVE_MAX_POINTS, max(result.holdout_days, 1))
    days = np.linspace(0.0, result.holdout_days, points + 1)
    rows = code[holdout_log.customer] >= 0
    # A purchase on local day d (d >= 1 after the calibration day) is counted by day offset d.
    offsets = (holdout_log.day[rows] - calibration_day).astype(float)
    actual = np.searchsorted(np.sort(offsets), days, side="right")
    result.curve_days = days
    result.curve_actual = actual.astype(float)
    for name, (purchases, _spend) in baselines.items():
        result.curve_predicted[name] = purchases.sum() * days / result.holdout_days
