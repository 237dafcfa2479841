"""The embedded default: the venue fit's grouped queries on a SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.embedded import run_python, sqlite_env

SNIPPET = """
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from customer_intel.analytics import vocabulary
from customer_intel.analytics.predictive import inputs, simulate
from customer_intel.analytics.predictive.models import MODELS
from customer_intel.models import CustomerEvent, CustomerFacts, PredictionModelFit, Venue
from customer_intel.services import predictions
from customer_intel.services.prediction_inputs import day_log_from_events, fit_inputs_from_facts

venue = Venue.objects.create(name="Embedded", timezone="America/New_York")
as_of = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
ages = np.random.default_rng(1).integers(7, 700, 1200)
sim = simulate.simulate_bgnbd(
    size=1200, r=0.6, alpha=9.0, a=0.7, b=2.5, observation=ages / 7.0, seed=3,
    dropout_after_first=True,
)
rows = []
for i in range(1200):
    first = as_of - timedelta(days=int(ages[i]))
    last = first + timedelta(days=int(sim.t_x[i] * 7))
    days = int(sim.x[i]) + 1
    rows.append(CustomerFacts(
        venue=venue, customer=f"{i:064x}", first_seen=first, last_seen=last,
        purchase_count=days, purchase_cents=days * 4000 + i, purchase_days=days,
        first_day_purchase_cents=4000, paid_purchase_days=days,
        first_purchase_at=first, last_purchase_at=last, refreshed_at=as_of,
    ))
CustomerFacts.objects.bulk_create(rows)
grouped = fit_inputs_from_facts(venue=venue, as_of=as_of)
assert grouped.customers == 1200
model = predictions.fit_venue_model(venue=venue, as_of=as_of)
fit = PredictionModelFit.objects.get(pk=model.fit_id)
assert model.usable, model.reason
pure = MODELS[fit.model].fit_triples(grouped.triples)
for name, value in pure.params.items():
    assert abs(fit.purchase_params[name] / value - 1) < 1e-6, (name, fit.purchase_params, value)

# Two purchases on one New York evening (one local day, two UTC dates) and a refund.
customer = "a" * 64
for event_id, kind, moment, amount in [
    ("e1", "ticket.purchased", datetime(2026, 3, 20, 23, 30, tzinfo=UTC), "10.00"),
    ("e2", "ticket.purchased", datetime(2026, 3, 21, 1, 30, tzinfo=UTC), "5.00"),
    ("e3", "ticket.purchased", datetime(2026, 3, 25, 16, 0, tzinfo=UTC), "0.00"),
    ("e4", "ticket.refunded", datetime(2026, 3, 22, 12, 0, tzinfo=UTC), "5.00"),
]:
    CustomerEvent.objects.create(
        venue=venue, event_id=event_id, customer=customer, type=kind, occurred_at=moment,
        amount=amount,
    )
log = day_log_from_events(venue=venue, end=as_of)
assert log.pseudonyms == [customer]
assert log.cents.tolist() == [1500, 0] and log.orders.tolist() == [2, 1]
assert log.refund_cents.tolist() == [500]
day = vocabulary.local_day_number(
    datetime(2026, 3, 20, 23, 30, tzinfo=UTC), ZoneInfo(venue.timezone)
)
assert log.day.tolist() == [day, day + 5]
found = log.inputs(as_of_day=day + 10)
assert found.x.tolist() == [1.0] and found.spend_transactions.tolist() == [0.0]
print("SQLITE-OK")
"""


def _manage(database: Path, *args: str, stdin: str | None = None):
    env = sqlite_env(database)
    return run_python("manage.py", *args, env=env, stdin=stdin, check=False)


def test_fit_and_event_day_logs_work_on_sqlite(tmp_path) -> None:
    database = tmp_path / "embedded.sqlite3"
    migrated = _manage(database, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr

    result = _manage(database, "shell", stdin=SNIPPET)

    assert result.returncode == 0, result.stderr
    assert "SQLITE-OK" in result.stdout, result.stdout + result.stderr
