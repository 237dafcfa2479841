"""The venue fit service: SQL-grouped inputs, the model choice, the stored fit, refusals, chunk
predictions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from customer_intel.analytics.facts import CustomerFactsRow
from customer_intel.analytics.predictive import gamma_gamma, inputs
from customer_intel.analytics.predictive.models import MODEL_NAMES, MODELS
from customer_intel.analytics.predictive.outputs import PREDICTION_FIELDS, PREDICTION_KEYS
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    PredictionModelFit,
)
from customer_intel.services import facts as facts_service
from customer_intel.services import predictions
from customer_intel.services.prediction_inputs import fit_inputs_from_facts, scoring_inputs
from customer_intel.services.recompute.profiles import PREDICTION_FIELDS as STORED_FIELDS
from tests.factories import RunFactory, VenueFactory
from tests.predictive.events import write_history

AS_OF = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)


@pytest.fixture
def simulated_venue(db):
    venue = VenueFactory()
    history = write_history(venue=venue, size=1500, as_of=AS_OF, seed=41)
    # Free tickets on some repeat days, which the spend model must leave out.
    CustomerEvent.objects.filter(venue=venue, event_id__endswith="-p1").filter(
        event_id__startswith="s41-1"
    ).update(amount=Decimal("0.00"))
    facts_service.facts_rebuild(venue=venue)
    return venue, history


def _pure_inputs(venue) -> inputs.CustomerInputs:  # type: ignore[no-untyped-def]
    """Every customer's inputs through the pure definition, from the stored facts rows."""
    chunks = facts_service.facts_iter_chunks(venue=venue, chunk_size=500)
    rows = [row for chunk in chunks for row in chunk]
    return scoring_inputs(facts=rows, as_of=AS_OF, tz=ZoneInfo(venue.timezone))


def _sorted_rows(*columns: np.ndarray) -> list[tuple[float, ...]]:
    return sorted(zip(*(np.round(c, 9).tolist() for c in columns), strict=True))


def test_the_sql_grouped_inputs_equal_the_pure_definition(simulated_venue) -> None:
    venue, _history = simulated_venue
    pure = _pure_inputs(venue)
    buyers = pure.buyers
    assert (pure.spend_transactions < np.maximum(pure.x, 0)).any(), "free repeat days are left out"

    grouped = fit_inputs_from_facts(venue=venue, as_of=AS_OF)

    triples = inputs.compress_customers(pure.x[buyers], pure.t_x[buyers], pure.T[buyers])
    got = grouped.triples
    assert _sorted_rows(got.x, got.t_x, got.T, got.weights) == _sorted_rows(
        triples.x, triples.t_x, triples.T, triples.weights
    )
    pairs = gamma_gamma.compress_values(pure.spend_transactions, pure.spend_average)
    spend = (grouped.spend_transactions, grouped.spend_average, grouped.spend_customers)
    assert _sorted_rows(*spend) == _sorted_rows(*pairs)


def test_the_fit_chooses_a_model_refits_it_on_all_the_data_and_stores_why(simulated_venue) -> None:
    venue, _history = simulated_venue
    pure = _pure_inputs(venue)
    buyers = pure.buyers

    model = predictions.fit_venue_model(venue=venue, as_of=AS_OF)

    fit = PredictionModelFit.objects.get(pk=model.fit_id)
    assert fit.usable and model.usable, fit.reason
    assert fit.model in MODEL_NAMES and model.model == fit.model
    assert fit.time_unit == "weeks"
    assert fit.diagnostics["source"] == "customer_facts"
    assert fit.customers_used == 1500
    assert fit.repeat_customers == int((pure.x > 0).sum()) >= 200
    selection = fit.selection
    assert selection["chosen"] == fit.model
    assert selection["basis"] in ("holdout", "log_likelihood")
    assert [c["model"] for c in selection["candidates"]] == list(MODEL_NAMES)
    # The refit on all the data is the pure fit of the chosen model on the same inputs.
    expected = MODELS[fit.model].fit_triples(
        inputs.compress_customers(pure.x[buyers], pure.t_x[buyers], pure.T[buyers])
    )
    for name, value in expected.params.items():
        assert fit.purchase_params[name] == pytest.approx(value, rel=1e-4), name
    assert fit.purchase_log_likelihood == pytest.approx(expected.log_likelihood, rel=1e-9)
    spend = gamma_gamma.fit_gamma_gamma(
        *gamma_gamma.compress_values(pure.spend_transactions, pure.spend_average)
    )
    for name, value in spend.params.items():
        assert fit.gamma_gamma_params[name] == pytest.approx(value, rel=1e-6), name
    assert fit.fit_seconds is not None and fit.fit_seconds > 0


def test_a_forced_model_is_the_one_fitted(simulated_venue) -> None:
    venue, _history = simulated_venue
    for name in MODEL_NAMES:
        venue.prediction_model = name
        model = predictions.fit_venue_model(venue=venue, as_of=AS_OF)
        fit = PredictionModelFit.objects.get(pk=model.fit_id)
        assert (fit.model, fit.selection["basis"], model.model) == (name, "forced", name)


def test_a_past_as_of_fits_on_the_event_log_up_to_it(simulated_venue) -> None:
    venue, history = simulated_venue
    as_of = AS_OF - timedelta(days=120)
    bought_by_then = sum(1 for purchases in history.purchases if purchases[0] <= as_of)

    model = predictions.fit_venue_model(venue=venue, as_of=as_of)

    fit = PredictionModelFit.objects.get(pk=model.fit_id)
    assert fit.diagnostics["source"] == "customer_events"
    assert fit.customers_used == bought_by_then < 1500
    assert fit.as_of == as_of


def _facts_row(customer: str, *, days: int, first: datetime, last: datetime, cents: int):
    return CustomerFactsRow(
        customer=customer,
        first_seen=first,
        last_seen=last,
        purchase_count=days,
        purchase_cents=cents,
        purchase_days=days,
        first_day_purchase_cents=cents // days,
        paid_purchase_days=days,
        first_purchase_at=first,
        last_purchase_at=last,
    )


def test_chunk_predictions_have_the_contract_keys_and_types(simulated_venue) -> None:
    venue, _history = simulated_venue
    venue.prediction_model = "mbgnbd"
    model = predictions.fit_venue_model(venue=venue, as_of=AS_OF)
    frequent = _facts_row(
        "a" * 64,
        days=30,
        first=AS_OF - timedelta(days=300),
        last=AS_OF - timedelta(days=3),
        cents=30 * 4500,
    )
    one_off = _facts_row(
        "b" * 64,
        days=1,
        first=AS_OF - timedelta(days=400),
        last=AS_OF - timedelta(days=400),
        cents=9000,
    )
    browser = CustomerFactsRow(customer="c" * 64, first_seen=AS_OF, last_seen=AS_OF)

    result = model([frequent, one_off, browser])

    assert set(result) == {"a" * 64, "b" * 64, "c" * 64}
    assert set(PREDICTION_FIELDS) == set(STORED_FIELDS)
    for prediction in result.values():
        assert tuple(prediction) == PREDICTION_KEYS
    busy = result["a" * 64]
    assert busy["prediction_model"] == "mbgnbd"
    assert busy["prediction_unavailable_reason"] == ""
    assert 0 < busy["probability_alive"] <= 1
    assert busy["expected_purchases_30d"] < busy["expected_purchases_90d"]
    assert busy["expected_purchases_90d"] < busy["expected_purchases_365d"]
    assert isinstance(busy["predicted_clv_365d"], Decimal)
    assert busy["predicted_clv_365d"] == busy["predicted_clv_365d"].quantize(Decimal("0.01"))
    assert busy["predicted_clv_365d"] < busy["predicted_clv_3y"]
    assert busy["expected_next_order_at"] is not None
    assert AS_OF < busy["expected_next_order_at"] < AS_OF + timedelta(days=60)
    assert busy["average_days_between_orders"] == pytest.approx(297 / 29)
    # Bought once, more than a year ago: the model lets them lapse.
    assert result["b" * 64]["probability_alive"] < 0.5
    assert result["b" * 64]["average_days_between_orders"] is None
    assert result["c" * 64] == {
        **dict.fromkeys(PREDICTION_KEYS),
        "prediction_model": "",
        "prediction_unavailable_reason": "no purchase yet",
    }


def test_too_few_repeat_customers_is_stored_and_every_prediction_explains_it(db) -> None:
    venue = VenueFactory()
    first = AS_OF - timedelta(days=100)
    rows = [
        CustomerFacts(
            venue=venue,
            customer=f"{i:064x}",
            first_seen=first,
            last_seen=first + timedelta(days=10),
            purchase_count=2 if i < 154 else 1,
            purchase_cents=10_000,
            purchase_days=2 if i < 154 else 1,
            first_purchase_at=first,
            last_purchase_at=first + timedelta(days=10 if i < 154 else 0),
            refreshed_at=AS_OF,
        )
        for i in range(1000)
    ]
    CustomerFacts.objects.bulk_create(rows)

    model = predictions.fit_venue_model(venue=venue, as_of=AS_OF)

    fit = PredictionModelFit.objects.get(venue=venue)
    assert not fit.usable and not model.usable
    assert fit.model == ""
    assert fit.reason == "not enough repeat customers (154 < 200)"
    assert (fit.customers_used, fit.repeat_customers) == (1000, 154)
    row = _facts_row("d" * 64, days=3, first=first, last=AS_OF, cents=3000)
    assert model([row])["d" * 64] == {
        **dict.fromkeys(PREDICTION_KEYS),
        "prediction_model": "",
        "prediction_unavailable_reason": "not enough repeat customers (154 < 200)",
    }


def test_without_a_usable_spend_model_purchases_are_predicted_and_value_is_not(
    simulated_venue,
) -> None:
    venue, _history = simulated_venue
    # Every repeat buyer refunded in full: nothing to learn the size of a purchase from.
    CustomerFacts.objects.filter(venue=venue).update(refund_cents=10**9)

    model = predictions.fit_venue_model(venue=venue, as_of=AS_OF)

    fit = PredictionModelFit.objects.get(pk=model.fit_id)
    assert fit.usable
    assert fit.reason.startswith("lifetime value unavailable: not enough repeat customers")
    row = _facts_row(
        "e" * 64, days=4, first=AS_OF - timedelta(days=90), last=AS_OF - timedelta(days=5), cents=1
    )
    prediction = model([row])["e" * 64]
    assert prediction["probability_alive"] is not None
    assert prediction["predicted_clv_365d"] is None and prediction["predicted_clv_3y"] is None
    assert prediction["prediction_unavailable_reason"].startswith("lifetime value unavailable")


def test_chunk_predictor_fits_on_full_runs_and_reuses_the_fit_otherwise(simulated_venue) -> None:
    venue, _history = simulated_venue
    assert predictions.chunk_predictor(venue=venue, as_of=AS_OF, run=None).reason == (
        predictions.NO_FIT_REASON
    )
    assert not PredictionModelFit.objects.filter(venue=venue).exists()

    full = RunFactory(venue=venue, as_of=AS_OF)
    fitted = predictions.chunk_predictor(venue=venue, as_of=AS_OF, run=full)
    assert PredictionModelFit.objects.get(venue=venue).run == full

    later = AS_OF + timedelta(hours=1)
    incremental = RunFactory(venue=venue, incremental=True, as_of=later)
    reused = predictions.chunk_predictor(venue=venue, as_of=later, run=incremental)
    single = predictions.chunk_predictor(venue=venue, as_of=later, run=None)
    assert PredictionModelFit.objects.filter(venue=venue).count() == 1
    assert reused.fit_id == single.fit_id == fitted.fit_id
    assert reused.as_of == later
    assert reused.params == fitted.params and reused.model == fitted.model


def test_the_venue_discount_rate_is_used(simulated_venue) -> None:
    venue, _history = simulated_venue
    row = _facts_row(
        "f" * 64, days=8, first=AS_OF - timedelta(days=200), last=AS_OF, cents=8 * 5000
    )
    venue.annual_discount_rate = 0.0
    undiscounted = predictions.fit_venue_model(venue=venue, as_of=AS_OF)([row])["f" * 64]
    venue.annual_discount_rate = 0.25
    discounted = predictions.fit_venue_model(venue=venue, as_of=AS_OF)([row])["f" * 64]
    assert discounted["predicted_clv_3y"] < undiscounted["predicted_clv_3y"]
    assert discounted["expected_purchases_365d"] == undiscounted["expected_purchases_365d"]


def test_empty_and_purchase_free_chunks() -> None:
    model = predictions.VenueModel(
        venue_id=None,
        as_of=AS_OF,
        usable=True,
        reason="",
        model="pareto_nbd",
        params={"r": 0.5, "alpha": 8.0, "s": 0.8, "beta": 60.0},
        gamma_gamma_params={"p": 6.0, "q": 4.0, "v": 15.0},
    )
    assert model([]) == {}
    browsers = [
        CustomerFactsRow(customer=f"{i:064x}", first_seen=AS_OF, last_seen=AS_OF) for i in range(3)
    ]
    assert {p["prediction_unavailable_reason"] for p in model(browsers).values()} == {
        "no purchase yet"
    }


def test_a_long_refusal_reason_fits_the_profile_column(db) -> None:
    venue = VenueFactory()
    fit = PredictionModelFit.objects.create(
        venue=venue, as_of=AS_OF, usable=False, reason="; ".join(["b ran to its bound"] * 15)
    )
    model = predictions.venue_model_from_fit(fit=fit, venue=venue, as_of=AS_OF)
    assert len(model.reason) == predictions.MAX_REASON_LENGTH
