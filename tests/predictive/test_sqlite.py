"""The embedded default: the venue fit's grouped queries on a SQLite file."""

from __future__ import annotations

from pathlib import Path

from tests.embedded import run_python, sqlite_env

SNIPPET = """
from datetime import UTC, datetime, timedelta

import numpy as np

from customer_intel.analytics.predictive import bgnbd, simulate
from customer_intel.models import CustomerEvent, CustomerFacts, Venue
from customer_intel.services import predictions

venue = Venue.objects.create(name="Embedded", timezone="America/New_York")
as_of = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
ages = np.random.default_rng(1).uniform(1, 100, 1200)
sim = simulate.simulate_bgnbd(size=1200, r=0.6, alpha=9.0, a=0.7, b=2.5, observation=ages, seed=3)
rows = []
for i in range(1200):
    first = as_of - timedelta(weeks=float(sim.T[i]))
    last = first + timedelta(weeks=float(sim.t_x[i]))
    days = int(sim.x[i]) + 1
    rows.append(CustomerFacts(
        venue=venue, customer=f"{i:064x}", first_seen=first, last_seen=last,
        purchase_count=days, purchase_cents=days * 4000 + i, purchase_days=days,
        first_purchase_at=first, last_purchase_at=last, refreshed_at=as_of,
    ))
CustomerFacts.objects.bulk_create(rows)
model = predictions.fit_venue_model(venue=venue, as_of=as_of)
pure = bgnbd.fit_bgnbd(*bgnbd.compress_customers(sim.x, sim.t_x, sim.T))
assert model.usable, model.reason
for name, value in pure.params.items():
    assert abs(model.bgnbd_params[name] / value - 1) < 1e-6, (name, model.bgnbd_params, value)

# Two purchases on one New York evening (one local day, two UTC dates) and a refund.
customer = "a" * 64
for event_id, kind, moment, amount in [
    ("e1", "ticket.purchased", datetime(2026, 3, 20, 23, 30, tzinfo=UTC), "10.00"),
    ("e2", "ticket.purchased", datetime(2026, 3, 21, 1, 30, tzinfo=UTC), "5.00"),
    ("e3", "ticket.refunded", datetime(2026, 3, 22, 12, 0, tzinfo=UTC), "5.00"),
]:
    CustomerEvent.objects.create(
        venue=venue, event_id=event_id, customer=customer, type=kind, occurred_at=moment,
        amount=amount,
    )
summaries = predictions.customer_summaries_from_events(venue=venue, end=as_of)
assert summaries.customers == [customer]
assert summaries.purchases.tolist() == [2.0]
assert summaries.purchase_days.tolist() == [1.0]
assert summaries.purchase_cents.tolist() == [1500.0]
assert summaries.refund_cents.tolist() == [500.0]
assert abs(summaries.last_purchase_seconds[0] - summaries.first_purchase_seconds[0] - 7200) < 1e-3
print("SQLITE-OK")
"""


def _manage(database: Path, *args: str, stdin: str | None = None):
    env = sqlite_env(database)
    return run_python("manage.py", *args, env=env, stdin=stdin, check=False)


def test_fit_and_event_summaries_work_on_sqlite(tmp_path) -> None:
    database = tmp_path / "embedded.sqlite3"
    migrated = _manage(database, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr

    result = _manage(database, "shell", stdin=SNIPPET)

    assert result.returncode == 0, result.stderr
    assert "SQLITE-OK" in result.stdout, result.stdout + result.stderr
