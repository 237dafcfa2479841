"""Per-venue probabilistic predictions: fit BG/NBD + Gamma-Gamma, persist the fit, score chunks.

The fit reads its inputs already grouped by the database: unique (x, t_x, T) triples (times in
whole weeks) with the number of customers sharing each, and (purchase days, net spend) pairs
with counts, so a venue of a million customers sends tens of thousands of rows to Python, not a
million. Every fit, usable or refused, is stored as a `PredictionModelFit` row with its reason
and diagnostics.

The recompute engine calls `chunk_predictor(venue=, as_of=, run=)` once per run and the
returned `VenueModel` once per chunk of facts::

    predictor = chunk_predictor(venue=venue, as_of=as_of, run=run)
    for chunk in facts_service.facts_iter_chunks(venue=venue, chunk_size=10_000):
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
from django.db.models import Count, F, FloatField, Func, Max, Min, Q, Sum, Value
from django.db.models.functions import Least, Round, TruncDate

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.predictive import bgnbd, gamma_gamma, scoring
from customer_intel.analytics.predictive.fitting import (
    DAYS_PER_TIME_UNIT,
    MIN_REPEAT_CUSTOMERS,
    TIME_UNIT,
    FitResult,
)
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    EventType,
    PredictionModelFit,
    RecomputeRun,
    RunMode,
    Venue,
)

logger = logging.getLogger(__name__)

SECONDS_PER_TIME_UNIT = DAYS_PER_TIME_UNIT * 86400.0
NO_PURCHASE_REASON = "no purchase yet"
NO_FIT_REASON = "no purchase model has been fitted for this venue yet"
# CustomerProfile.prediction_unavailable_reason holds 200 characters.
MAX_REASON_LENGTH = 200
# The largest amount a MONEY column (14 digits, 2 decimals) holds.
_MAX_MONEY_FLOAT = 999_999_999_999.99

PREDICTION_KEYS: tuple[str, ...] = (
    "probability_alive",
    "expected_purchases_30d",
    "expected_purchases_90d",
    "expected_purchases_365d",
    "predicted_clv_365d",
    "predicted_clv_3y",
    "expected_next_order_at",
    "average_days_between_orders",
    "prediction_unavailable_reason",
)


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, as a float."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::double precision",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        # SQLite stores datetimes as ISO text in UTC; julianday() parses it.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra_context,
        )


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """A venue's fit inputs, grouped: BG/NBD triples and Gamma-Gamma (n, m) pairs, weighted."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    customers: np.ndarray
    transactions: np.ndarray
    average_value: np.ndarray
    spend_customers: np.ndarray
    source: str


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
    bgnbd_params: dict[str, float] = field(default_factory=dict)
    gamma_gamma_params: dict[str, float] | None = None
    spend_reason: str = ""
    annual_discount_rate: float = 0.10
    time_unit: str = TIME_UNIT
    fit_id: int | None = None

    def __call__(self, facts: Sequence[CustomerFactsRow]) -> dict[str, dict[str, Any]]:
        return self.predict_facts(facts)

    def predict_facts(self, facts: Sequence[CustomerFactsRow]) -> dict[str, dict[str, Any]]:
        """Predictions for a chunk of customers' facts (as of `self.as_of`), by pseudonym."""
        arrays = inputs_from_facts(facts=facts, as_of=self.as_of)
        predictions = self.predict_chunk(**arrays)
        return {
            row.customer: prediction for row, prediction in zip(facts, predictions, strict=True)
        }

    def predict_chunk(
        self,
        *,
        repeat_purchases: np.ndarray,
        recency_days: np.ndarray,
        age_days: np.ndarray,
        average_value: np.ndarray,
    ) -> list[dict[str, Any]]:
        """One dict per customer, keys `PREDICTION_KEYS`, in input order.

        `repeat_purchases` is purchase days - 1 (-1: no purchase yet), `recency_days` the days
        from first to last purchase, `age_days` from first purchase to as-of, `average_value`
        the net spend per purchase day in the venue's currency.
        """
        size = len(repeat_purchases)
        if not self.usable:
            return [_unavailable(self.reason) for _ in range(size)]
        predictions = scoring.predict_customers(
            bgnbd_params=self.bgnbd_params,
            gamma_gamma_params=self.gamma_gamma_params,
            repeat_purchases=np.asarray(repeat_purchases, dtype=float),
            recency_days=np.asarray(recency_days, dtype=float),
            age_days=np.asarray(age_days, dtype=float),
            average_value=np.asarray(average_value, dtype=float),
            annual_discount_rate=self.annual_discount_rate,
        )
        scored = (np.asarray(repeat_purchases) >= 0).tolist()
        spend_reason = "" if self.gamma_gamma_params is not None else self.spend_reason
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
                "expected_purchases_30d": in_30,
                "expected_purchases_90d": in_90,
                "expected_purchases_365d": in_365,
                "predicted_clv_365d": value_365,
                "predicted_clv_3y": value_3y,
                "expected_next_order_at": next_at,
                "average_days_between_orders": between,
                "prediction_unavailable_reason": spend_reason,
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


def inputs_from_facts(
    *, facts: Sequence[CustomerFactsRow], as_of: datetime
) -> dict[str, np.ndarray]:
    """The scoring arrays of a chunk of facts: x, t_x and T in days, net spend per purchase day.

    A customer without a purchase at or before `as_of` gets x = -1 (no prediction).
    """
    size = len(facts)
    repeat = np.full(size, -1.0)
    recency = np.zeros(size)
    age = np.zeros(size)
    value = np.zeros(size)
    for i, row in enumerate(facts):
        first = row.first_purchase_at
        last = row.last_purchase_at
        if row.purchase_days <= 0 or first is None or last is None or first > as_of:
            continue
        repeat[i] = row.purchase_days - 1
        age[i] = (as_of - first).total_seconds() / 86400.0
        recency[i] = min((last - first).total_seconds() / 86400.0, age[i])
        net_cents = max(row.purchase_cents - row.refund_cents, 0)
        value[i] = net_cents / 100.0 / row.purchase_days
    return {
        "repeat_purchases": repeat,
        "recency_days": recency,
        "age_days": age,
        "average_value": value,
    }


def model_inputs_from_facts(*, venue: Venue, as_of: datetime) -> ModelInputs:
    """Fit inputs from the `CustomerFacts` summary table, grouped in SQL.

    Valid when the facts hold no purchase after `as_of` (the usual case: as-of is now); see
    `model_inputs_for` for the choice.
    """
    as_of_seconds = as_of.timestamp()
    buyers = CustomerFacts.objects.filter(
        venue=venue, purchase_days__gt=0, first_purchase_at__lte=as_of
    )
    first = EpochSeconds("first_purchase_at")
    last = Least(EpochSeconds("last_purchase_at"), Value(as_of_seconds, output_field=FloatField()))
    triples = (
        buyers.annotate(
            x=F("purchase_days") - 1,
            t_x_units=Round((last - first) / Value(SECONDS_PER_TIME_UNIT)),
            T_units=Round(
                (Value(as_of_seconds, output_field=FloatField()) - first)
                / Value(SECONDS_PER_TIME_UNIT)
            ),
        )
        .values("x", "t_x_units", "T_units")
        .annotate(customers=Count("id"))
        .order_by()
    )
    rows = list(triples.values_list("x", "t_x_units", "T_units", "customers"))
    spend = (
        buyers.filter(purchase_days__gte=2)
        .annotate(net_cents=F("purchase_cents") - F("refund_cents"))
        .filter(net_cents__gt=0)
        .values("purchase_days", "net_cents")
        .annotate(customers=Count("id"))
        .order_by()
        .values_list("purchase_days", "net_cents", "customers")
    )
    spend_rows = list(spend)
    x, t_x, T, customers = _columns(rows, 4)
    # Rounded independently, t_x can exceed T only by rounding noise; the model needs t_x <= T.
    t_x = np.minimum(t_x, T)
    days, net_cents, spend_customers = _columns(spend_rows, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = net_cents / 100.0 / days
    transactions, average, spend_customers = gamma_gamma.compress_values(
        days, average, spend_customers
    )
    return ModelInputs(
        x=x,
        t_x=t_x,
        T=T,
        customers=customers,
        transactions=transactions,
        average_value=average,
        spend_customers=spend_customers,
        source="customer_facts",
    )


def _columns(rows: list[tuple[Any, ...]], width: int) -> tuple[np.ndarray, ...]:
    if not rows:
        return tuple(np.zeros(0) for _ in range(width))
    matrix = np.asarray(rows, dtype=float)
    return tuple(matrix[:, i] for i in range(width))


@dataclass(frozen=True, slots=True)
class CustomerSummaries:
    """Per-customer purchase summaries over a window of the event log, as parallel arrays."""

    customers: list[str]
    first_purchase_seconds: np.ndarray
    last_purchase_seconds: np.ndarray
    purchases: np.ndarray
    purchase_days: np.ndarray
    purchase_cents: np.ndarray
    refund_cents: np.ndarray


def customer_summaries_from_events(
    *, venue: Venue, end: datetime, start: datetime | None = None
) -> CustomerSummaries:
    """One grouped query over the event log: each buyer's purchases in (start, end].

    Purchase days are distinct local dates in the venue's time zone, as in `CustomerFacts`.
    Refunds in the window are summed too; customers with no purchase in the window are left
    out (a refund alone is not a purchase).
    """
    events = CustomerEvent.objects.filter(
        venue=venue,
        occurred_at__lte=end,
        type__in=[EventType.TICKET_PURCHASED, EventType.TICKET_REFUNDED],
    )
    if start is not None:
        events = events.filter(occurred_at__gt=start)
    purchase = Q(type=EventType.TICKET_PURCHASED)
    refund = Q(type=EventType.TICKET_REFUNDED)
    local_day = TruncDate("occurred_at", tzinfo=ZoneInfo(venue.timezone))
    rows = (
        events.values("customer")
        .annotate(
            first_purchase=Min(EpochSeconds("occurred_at"), filter=purchase),
            last_purchase=Max(EpochSeconds("occurred_at"), filter=purchase),
            purchases=Count("id", filter=purchase),
            purchase_days=Count(local_day, filter=purchase, distinct=True),
            purchase_amount=Sum("amount", filter=purchase),
            refund_amount=Sum("amount", filter=refund),
        )
        .filter(purchases__gt=0)
        .order_by()
        .values_list(
            "customer",
            "first_purchase",
            "last_purchase",
            "purchases",
            "purchase_days",
            "purchase_amount",
            "refund_amount",
        )
    )
    customers: list[str] = []
    numbers: list[tuple[float, ...]] = []
    for customer, first, last, count, days, bought, refunded in rows.iterator(chunk_size=10_000):
        customers.append(customer)
        numbers.append(
            (
                float(first),
                float(last),
                float(count),
                float(days),
                float(bought or 0) * 100.0,
                float(refunded or 0) * 100.0,
            )
        )
    columns = _columns(numbers, 6)
    return CustomerSummaries(customers, *columns)


def model_inputs_from_summaries(*, summaries: CustomerSummaries, as_of: datetime) -> ModelInputs:
    """Fit inputs from per-customer event summaries (a calibration period, a past as-of)."""
    seconds = as_of.timestamp()
    x = summaries.purchase_days - 1
    t_x = (summaries.last_purchase_seconds - summaries.first_purchase_seconds) / (
        SECONDS_PER_TIME_UNIT
    )
    T = (seconds - summaries.first_purchase_seconds) / SECONDS_PER_TIME_UNIT
    x, t_x, T, customers = bgnbd.compress_customers(x, t_x, T)
    net = np.maximum(summaries.purchase_cents - summaries.refund_cents, 0.0)
    repeat = summaries.purchase_days >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        average = net / 100.0 / summaries.purchase_days
    transactions, average, spend_customers = gamma_gamma.compress_values(
        summaries.purchase_days[repeat], average[repeat]
    )
    return ModelInputs(
        x=x,
        t_x=t_x,
        T=T,
        customers=customers,
        transactions=transactions,
        average_value=average,
        spend_customers=spend_customers,
        source="customer_events",
    )


def model_inputs_for(*, venue: Venue, as_of: datetime) -> ModelInputs:
    """Fit inputs as of `as_of`: from the facts table, or from the event log when the facts
    already hold purchases after `as_of` (a reproducible run in the past)."""
    later = CustomerFacts.objects.filter(venue=venue, last_purchase_at__gt=as_of).exists()
    if not later:
        return model_inputs_from_facts(venue=venue, as_of=as_of)
    summaries = customer_summaries_from_events(venue=venue, end=as_of)
    return model_inputs_from_summaries(summaries=summaries, as_of=as_of)


@dataclass(frozen=True, slots=True)
class FitOutcome:
    """Both models' fits on one set of inputs."""

    purchases: FitResult
    spend: FitResult
    seconds: float


def models_fit(*, inputs: ModelInputs) -> FitOutcome:
    """Fit BG/NBD and (when it is usable) Gamma-Gamma on grouped inputs."""
    started = time.perf_counter()
    purchases = bgnbd.fit_bgnbd(inputs.x, inputs.t_x, inputs.T, inputs.customers)
    spend = gamma_gamma.fit_gamma_gamma(
        inputs.transactions, inputs.average_value, inputs.spend_customers
    )
    return FitOutcome(purchases=purchases, spend=spend, seconds=time.perf_counter() - started)


def fit_venue_model(
    *, venue: Venue, as_of: datetime, run: RecomputeRun | None = None
) -> VenueModel:
    """Fit the venue's BG/NBD and Gamma-Gamma models as of `as_of`, store the fit, return it.

    Only customers whose first purchase is at or before `as_of` take part. A fit that is
    refused (too few repeat customers, no convergence, degenerate parameters) is stored with
    its reason and gives a model whose predictions are all None with that reason.
    """
    started = time.perf_counter()
    inputs = model_inputs_for(venue=venue, as_of=as_of)
    outcome = models_fit(inputs=inputs)
    purchases, spend = outcome.purchases, outcome.spend
    reasons = []
    if not purchases.usable:
        reasons.append(purchases.reason)
    elif not spend.usable:
        reasons.append(f"lifetime value unavailable: {spend.reason}")
    fit = PredictionModelFit.objects.create(
        venue=venue,
        run=run,
        as_of=as_of,
        time_unit=TIME_UNIT,
        usable=purchases.usable,
        reason="; ".join(reasons)[:300],
        customers_used=purchases.n_customers,
        repeat_customers=purchases.n_repeat,
        bgnbd_params=purchases.params,
        bgnbd_log_likelihood=purchases.log_likelihood,
        gamma_gamma_params=spend.params,
        gamma_gamma_log_likelihood=spend.log_likelihood,
        diagnostics={
            "source": inputs.source,
            "min_repeat_customers": MIN_REPEAT_CUSTOMERS,
            "rounding": f"t_x and T rounded to the nearest whole {TIME_UNIT[:-1]}",
            "bgnbd": {
                "usable": purchases.usable,
                "reason": purchases.reason,
                "iterations": purchases.iterations,
                **_json_safe(purchases.diagnostics),
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
    logger.info(
        "prediction model fitted venue=%s fit=%s usable=%s spend_usable=%s customers=%d "
        "repeat_customers=%d seconds=%.3f reason=%r",
        venue.pk,
        fit.pk,
        purchases.usable,
        spend.usable,
        purchases.n_customers,
        purchases.n_repeat,
        fit.fit_seconds,
        fit.reason,
    )
    return venue_model_from_fit(fit=fit, venue=venue, as_of=as_of)


def _json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    """Diagnostics with non-finite floats (not valid JSON) written as strings."""
    safe: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            safe[key] = _json_safe(value)
        elif isinstance(value, float) and not np.isfinite(value):
            safe[key] = str(value)
        else:
            safe[key] = value
    return safe


def venue_model_from_fit(*, fit: PredictionModelFit, venue: Venue, as_of: datetime) -> VenueModel:
    """A scoring model from a stored fit, scoring customers as of `as_of`."""
    spend_usable = bool(fit.diagnostics.get("gamma_gamma", {}).get("usable"))
    spend_reason = ""
    if not spend_usable:
        spend_reason = "lifetime value unavailable: " + str(
            fit.diagnostics.get("gamma_gamma", {}).get("reason") or "no spend model"
        )
    rate = float(venue.annual_discount_rate)
    if not np.isfinite(rate) or rate < 0:
        logger.warning("invalid annual_discount_rate venue=%s rate=%r; using 0", venue.pk, rate)
        rate = 0.0
    return VenueModel(
        venue_id=venue.pk,
        as_of=as_of,
        usable=fit.usable,
        reason=(fit.reason or "")[:MAX_REASON_LENGTH],
        bgnbd_params=dict(fit.bgnbd_params),
        gamma_gamma_params=dict(fit.gamma_gamma_params) if spend_usable else None,
        spend_reason=spend_reason[:MAX_REASON_LENGTH],
        annual_discount_rate=rate,
        time_unit=fit.time_unit,
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
