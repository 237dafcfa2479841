"""Backtest of the purchase and spend predictions on a venue's own history.

Models are fitted on a calibration period (events at or before `calibration_end`), predict each
calibration customer's purchases and spend in the holdout (calibration_end, holdout_end], and are
compared with what those customers actually did, side by side with two simpler predictors:

- the SPEC heuristic: purchaseFrequency (purchases per year, at least one year of history)
  times holdout years for purchases, and averageOrderValue times that for spend (the SPEC's
  three-year predictedLifetimeValue scaled to the holdout);
- a naive baseline: every customer keeps their calibration rate (purchase days, and net spend,
  per day since their first purchase, that age floored at one week) for the holdout.

Purchases are counted as purchase days (distinct local dates with a purchase), the occasions
BG/NBD models; spend is net of refunds, never below zero per customer. Customers whose first
purchase is in the holdout cannot be predicted by any of the three and are counted apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models.functions import TruncDate

from customer_intel.analytics import rules
from customer_intel.analytics.predictive import bgnbd, gamma_gamma
from customer_intel.analytics.predictive.fitting import DAYS_PER_TIME_UNIT, FitResult
from customer_intel.models import CustomerEvent, EventType, Venue
from customer_intel.services.predictions import (
    CustomerSummaries,
    customer_summaries_from_events,
    model_inputs_from_summaries,
    models_fit,
)

SECONDS_PER_DAY = 86_400.0
# The naive baseline's floor on a customer's age: a first purchase on the last calibration day
# would otherwise make a rate of one purchase per day.
NAIVE_MIN_AGE_DAYS = 7.0
CURVE_MAX_POINTS = 60

HEURISTIC = "SPEC heuristic"
NAIVE = "naive (calibration rate)"
BGNBD = "BG/NBD + Gamma-Gamma"


class BacktestError(ValueError):
    """The backtest cannot run on these dates or this data; the message says why."""


@dataclass(frozen=True, slots=True)
class ModelScore:
    """One predictor's holdout predictions against the actuals."""

    name: str
    available: bool
    note: str = ""
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
    holdout_days: float
    customers: int
    repeat_customers: int
    new_in_holdout: int
    actual_purchases: float
    actual_spend: float
    scores: list[ModelScore]
    purchase_fit: FitResult
    spend_fit: FitResult
    curve_days: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curve_actual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curve_predicted: dict[str, np.ndarray] = field(default_factory=dict)


def backtest_run(
    *, venue: Venue, calibration_end: datetime, holdout_end: datetime
) -> BacktestResult:
    """Fit on events at or before `calibration_end`, score the holdout up to `holdout_end`."""
    if holdout_end <= calibration_end:
        raise BacktestError("holdout end must be after calibration end")
    calibration = customer_summaries_from_events(venue=venue, end=calibration_end)
    if not calibration.customers:
        raise BacktestError("the calibration period has no purchases")
    holdout = customer_summaries_from_events(venue=venue, start=calibration_end, end=holdout_end)
    holdout_days = (holdout_end - calibration_end).total_seconds() / SECONDS_PER_DAY

    position = {customer: i for i, customer in enumerate(calibration.customers)}
    size = len(calibration.customers)
    actual_purchases = np.zeros(size)
    actual_spend = np.zeros(size)
    new_customers = 0
    for j, customer in enumerate(holdout.customers):
        i = position.get(customer)
        if i is None:
            new_customers += 1
            continue
        actual_purchases[i] = holdout.purchase_days[j]
        actual_spend[i] = max(holdout.purchase_cents[j] - holdout.refund_cents[j], 0.0) / 100.0

    outcome = models_fit(
        inputs=model_inputs_from_summaries(summaries=calibration, as_of=calibration_end)
    )
    inputs = _per_customer(calibration, calibration_end)

    predictions = {
        HEURISTIC: _heuristic(calibration, calibration_end, holdout_days),
        NAIVE: _naive(inputs, holdout_days),
    }
    scores = [
        _score(name, purchases, spend, actual_purchases, actual_spend)
        for name, (purchases, spend) in predictions.items()
    ]
    if outcome.purchases.usable:
        purchases = bgnbd.expected_purchases(
            outcome.purchases.params,
            holdout_days / DAYS_PER_TIME_UNIT,
            inputs["x"],
            inputs["t_x"],
            inputs["T"],
        )
        spend = np.full(size, np.nan)
        if outcome.spend.usable:
            spend = purchases * gamma_gamma.expected_average_value(
                outcome.spend.params, inputs["x"] + 1, inputs["average_value"]
            )
        score = _score(BGNBD, purchases, spend, actual_purchases, actual_spend)
        if not outcome.spend.usable:
            score = ModelScore(
                **{**_as_kwargs(score), "note": f"spend model refused: {outcome.spend.reason}"}
            )
        scores.append(score)
    else:
        scores.append(
            ModelScore(name=BGNBD, available=False, note=f"fit refused: {outcome.purchases.reason}")
        )

    result = BacktestResult(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        holdout_days=holdout_days,
        customers=size,
        repeat_customers=int((calibration.purchase_days > 1).sum()),
        new_in_holdout=new_customers,
        actual_purchases=float(actual_purchases.sum()),
        actual_spend=float(actual_spend.sum()),
        scores=scores,
        purchase_fit=outcome.purchases,
        spend_fit=outcome.spend,
    )
    _add_curves(result, venue=venue, inputs=inputs, predictions=predictions, position=position)
    return result


def _per_customer(summaries: CustomerSummaries, calibration_end: datetime) -> dict[str, np.ndarray]:
    """Each calibration customer's (x, t_x, T) in weeks and net value per purchase day."""
    end = calibration_end.timestamp()
    seconds_per_unit = DAYS_PER_TIME_UNIT * SECONDS_PER_DAY
    net = np.maximum(summaries.purchase_cents - summaries.refund_cents, 0.0) / 100.0
    return {
        "x": summaries.purchase_days - 1,
        "t_x": (summaries.last_purchase_seconds - summaries.first_purchase_seconds)
        / seconds_per_unit,
        "T": (end - summaries.first_purchase_seconds) / seconds_per_unit,
        "average_value": net / summaries.purchase_days,
        "purchase_days": summaries.purchase_days,
        "net_spend": net,
    }


def _heuristic(
    summaries: CustomerSummaries, calibration_end: datetime, holdout_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """SPEC purchaseFrequency times holdout years, and averageOrderValue times that."""
    holdout_years = holdout_days * SECONDS_PER_DAY / rules.SECONDS_PER_YEAR
    size = len(summaries.customers)
    purchases = np.zeros(size)
    spend = np.zeros(size)
    utc = ZoneInfo("UTC")
    for i in range(size):
        count = int(summaries.purchases[i])
        first = datetime.fromtimestamp(summaries.first_purchase_seconds[i], tz=utc)
        frequency = rules.purchase_frequency(count, first, calibration_end)
        spent = rules.total_spent_cents(
            int(summaries.purchase_cents[i]), int(summaries.refund_cents[i])
        )
        average_order = rules.average_order_value_cents(spent, count) / 100.0
        purchases[i] = frequency * holdout_years
        spend[i] = average_order * frequency * holdout_years
    return purchases, spend


def _naive(inputs: dict[str, np.ndarray], holdout_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Calibration purchase days and net spend per day of age, carried over the holdout."""
    age_days = np.maximum(inputs["T"] * DAYS_PER_TIME_UNIT, NAIVE_MIN_AGE_DAYS)
    share = holdout_days / age_days
    return inputs["purchase_days"] * share, inputs["net_spend"] * share


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


def _add_curves(
    result: BacktestResult,
    *,
    venue: Venue,
    inputs: dict[str, np.ndarray],
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    position: dict[str, int],
) -> None:
    """Cumulative actual and predicted purchase days of the calibration customers, by day."""
    points = min(CURVE_MAX_POINTS, max(math.ceil(result.holdout_days), 1))
    days = np.linspace(0.0, result.holdout_days, points + 1)
    local_day = TruncDate("occurred_at", tzinfo=ZoneInfo(venue.timezone))
    purchase_days = (
        CustomerEvent.objects.filter(
            venue=venue,
            type=EventType.TICKET_PURCHASED,
            occurred_at__gt=result.calibration_end,
            occurred_at__lte=result.holdout_end,
        )
        .annotate(day=local_day)
        .values_list("customer", "day")
        .distinct()
    )
    start = result.calibration_end.astimezone(ZoneInfo(venue.timezone)).date()
    offsets = [
        (day - start).days for customer, day in purchase_days.iterator() if customer in position
    ]
    # A purchase on local day d (d >= 1 after the calibration day) is counted by day offset d.
    actual = np.searchsorted(np.sort(np.asarray(offsets, dtype=float)), days, side="right")
    result.curve_days = days
    result.curve_actual = actual.astype(float)
    for name, (purchases, _spend) in predictions.items():
        result.curve_predicted[name] = purchases.sum() * days / result.holdout_days
    if result.purchase_fit.usable:
        result.curve_predicted[BGNBD] = np.array(
            [
                bgnbd.expected_purchases(
                    result.purchase_fit.params,
                    day / DAYS_PER_TIME_UNIT,
                    inputs["x"],
                    inputs["t_x"],
                    inputs["T"],
                ).sum()
                for day in days
            ]
        )
