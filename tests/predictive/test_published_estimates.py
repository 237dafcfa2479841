"""Given the data a study published its estimates on, each model's fit reproduces them.

The CDNOW sample (tests/predictive/data, sources and citations in tests/predictive/cdnow.py)
goes through the service's own input definitions: from the day log in pure code, and through
PostgreSQL (the facts table grouped in SQL, and the event log for a past as-of).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time
from decimal import Decimal

import numpy as np
import pytest

from customer_intel.analytics.predictive import gamma_gamma, inputs
from customer_intel.analytics.predictive.models import MODELS
from customer_intel.models import CustomerEvent
from customer_intel.services import facts as facts_service
from customer_intel.services.prediction_inputs import fit_inputs_from_facts
from customer_intel.services.predictions import venue_fit_inputs
from tests.factories import VenueFactory
from tests.predictive import cdnow

END_DAY = cdnow.day_number(cdnow.CALIBRATION_END)
AS_OF = datetime.combine(cdnow.CALIBRATION_END, time(23, 59, 59), tzinfo=UTC)


@pytest.fixture(scope="module")
def log() -> cdnow.DayLog:
    return cdnow.load()


@pytest.fixture(scope="module")
def calibration(log: cdnow.DayLog) -> inputs.CustomerInputs:
    histories = inputs.histories_from_days(
        customer=log.customer,
        day=log.day,
        cents=log.cents,
        customers=len(log.ids),
        upto_day=END_DAY,
    )
    refunds = np.zeros(len(log.ids), dtype=np.int64)
    return inputs.customer_inputs(
        histories=histories,
        net_cents=inputs.net_spent_cents(histories.gross_cents, refunds),
        as_of_day=END_DAY,
    )


def _spend_pairs(source: inputs.CustomerInputs):  # type: ignore[no-untyped-def]
    return gamma_gamma.compress_values(source.spend_transactions, source.spend_average)


def test_the_input_definitions_rebuild_the_published_summary(calibration) -> None:
    assert len(calibration.x) == cdnow.CUSTOMERS
    assert int((calibration.x > 0).sum()) == cdnow.REPEAT_CUSTOMERS
    assert calibration.x.sum() == cdnow.REPEAT_TRANSACTIONS
    # Customer 1, the first row of the published summary: x = 2, t_x = 30.43, T = 38.86,
    # average repeat value 22.35 (rounded).
    assert calibration.x[0] == 2
    assert calibration.t_x[0] == pytest.approx(30.43, abs=0.005)
    assert calibration.T[0] == pytest.approx(38.86, abs=0.005)
    assert calibration.spend_transactions[0] == 2
    assert calibration.spend_average[0] == pytest.approx(22.345)  # (29.73 + 14.96) / 2


def test_the_inputs_equal_the_summary_shipped_with_lifetimes(calibration) -> None:
    datasets = pytest.importorskip("lifetimes.datasets", reason="lifetimes is test-only")
    summary = datasets.load_cdnow_summary_data_with_monetary_value()
    assert np.array_equal(summary["frequency"].to_numpy(), calibration.x)
    assert np.allclose(summary["recency"].to_numpy(), calibration.t_x, atol=0.005)
    assert np.allclose(summary["T"].to_numpy(), calibration.T, atol=0.005)
    repeat = calibration.x > 0
    assert np.allclose(
        summary["monetary_value"].to_numpy()[repeat], calibration.spend_average[repeat], atol=0.005
    )


@pytest.mark.parametrize(
    ("model", "published", "published_log_likelihood"),
    [
        ("bgnbd", cdnow.BGNBD, cdnow.BGNBD_LL),
        ("pareto_nbd", cdnow.PARETO_NBD, cdnow.PARETO_NBD_LL),
        ("mbgnbd", cdnow.MBGNBD, None),
    ],
)
def test_each_purchase_model_reproduces_its_published_estimates(
    calibration, model, published, published_log_likelihood
) -> None:
    purchase_model = MODELS[model]
    triples = inputs.compress_customers(calibration.x, calibration.t_x, calibration.T)
    assert len(triples) < cdnow.CUSTOMERS  # the data compress, exactly

    fit = purchase_model.fit_triples(triples)

    assert fit.usable, fit.reason
    assert fit.n_customers == cdnow.CUSTOMERS
    for name, value in published.items():
        assert fit.params[name] == pytest.approx(value, rel=0.005), name
    # The likelihood at the published (rounded) estimates, term by term on every customer,
    # is within 0.1 of the maximum, and so is the published maximum where there is one.
    at_published = purchase_model.log_likelihood_terms(
        published, calibration.x, calibration.t_x, calibration.T
    ).sum()
    assert fit.log_likelihood == pytest.approx(at_published, abs=0.1)
    assert fit.log_likelihood >= at_published
    if published_log_likelihood is not None:
        assert fit.log_likelihood == pytest.approx(published_log_likelihood, abs=0.1)


def test_gamma_gamma_reproduces_its_published_estimates(calibration) -> None:
    fit = gamma_gamma.fit_gamma_gamma(*_spend_pairs(calibration))

    assert fit.usable, fit.reason
    assert fit.n_customers == cdnow.REPEAT_CUSTOMERS
    for name, value in cdnow.GAMMA_GAMMA.items():
        assert fit.params[name] == pytest.approx(value, rel=0.01), name


def _write_events(venue, log: cdnow.DayLog, *, until) -> None:  # type: ignore[no-untyped-def]
    CustomerEvent.objects.bulk_create(
        [
            CustomerEvent(
                venue=venue,
                event_id=f"cdnow-{log.ids[log.customer[i]]}-{log.date[i]:%Y%m%d}",
                customer=f"{log.ids[log.customer[i]]:064x}",
                type="ticket.purchased",
                occurred_at=datetime.combine(log.date[i], time(12), tzinfo=UTC),
                amount=Decimal(int(log.cents[i])).scaleb(-2),
            )
            for i in range(len(log.day))
            if log.date[i] <= until
        ],
        batch_size=5000,
    )


def _sorted_triples(triples: inputs.Triples) -> np.ndarray:
    rows = np.stack([triples.x, triples.t_x, triples.T, triples.weights], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def test_the_sql_grouped_inputs_equal_the_pure_ones_and_fit_the_same(db, log, calibration) -> None:
    venue = VenueFactory(timezone="UTC")
    _write_events(venue, log, until=cdnow.CALIBRATION_END)
    facts_service.facts_rebuild(venue=venue)

    grouped = fit_inputs_from_facts(venue=venue, as_of=AS_OF)

    pure = inputs.compress_customers(calibration.x, calibration.t_x, calibration.T)
    assert np.array_equal(_sorted_triples(grouped.triples), _sorted_triples(pure))
    pure_spend = _spend_pairs(calibration)
    assert _pairs(grouped.spend_transactions, grouped.spend_average, grouped.spend_customers) == (
        _pairs(*pure_spend)
    )
    fit = MODELS["bgnbd"].fit_triples(grouped.triples)
    assert fit.params["r"] == pytest.approx(cdnow.BGNBD["r"], rel=0.005)


def _pairs(n: np.ndarray, m: np.ndarray, w: np.ndarray) -> list[tuple[float, float, float]]:
    return sorted(zip(n.tolist(), np.round(m, 9).tolist(), w.tolist(), strict=True))


def test_a_past_as_of_reads_the_same_inputs_from_the_event_log(db, log, calibration) -> None:
    venue = VenueFactory(timezone="UTC")
    _write_events(venue, log, until=cdnow.CALIBRATION_END.replace(year=1998, month=6))
    facts_service.facts_rebuild(venue=venue)

    grouped, day_log = venue_fit_inputs(venue=venue, as_of=AS_OF)

    assert grouped.source == "customer_events"
    pure = inputs.compress_customers(calibration.x, calibration.t_x, calibration.T)
    assert np.array_equal(_sorted_triples(grouped.triples), _sorted_triples(pure))
    assert _pairs(grouped.spend_transactions, grouped.spend_average, grouped.spend_customers) == (
        _pairs(*_spend_pairs(calibration))
    )
    assert day_log.customers == cdnow.CUSTOMERS
    assert not math.isnan(grouped.first_purchase_weeks_ago)
