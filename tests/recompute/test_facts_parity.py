"""The same facts rows on PostgreSQL and on the embedded SQLite default, whatever path wrote
them (ingestion's merge, a refresh, a rebuild), equal to the pure reference aggregator."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from customer_intel.analytics.events import EventRecord, facts_from_events
from customer_intel.analytics.vocabulary import EventType, local_day_number
from customer_intel.models import CustomerEvent
from customer_intel.services import facts
from tests.embedded import run_python, sqlite_env
from tests.recompute import scenario
from tests.recompute.facts_rows import as_of_rows, plain, scenario_label, stored_rows

CUSTOMERS = sorted({row[0] for row in scenario.EVENTS})
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sqlite_facts(tmp_path_factory) -> dict:  # type: ignore[type-arg]
    database = tmp_path_factory.mktemp("sqlite") / "facts.sqlite3"
    env = sqlite_env(database, LOG_LEVEL="WARNING")
    run_python("manage.py", "migrate", "--noinput", "-v", "0", env=env)
    return json.loads(run_python("-m", "tests.recompute.sqlite_facts", env=env).stdout)


def _reference(venue) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    """Each customer's stored row as the pure reference aggregator defines it."""
    tz = ZoneInfo(venue.timezone)
    expected = {}
    for customer in CUSTOMERS:
        events = list(CustomerEvent.objects.filter(venue=venue, customer=customer))
        row = facts_from_events(
            customer,
            [
                EventRecord(e.type, e.occurred_at, e.amount, e.quantity, e.event_category)
                for e in events
            ],
            as_of=END_OF_TIME,
            tz=tz,
        )
        purchases = [e for e in events if e.type == EventType.TICKET_PURCHASED]
        days = sorted({local_day_number(e.occurred_at, tz) for e in purchases})
        paid_days = sorted({local_day_number(e.occurred_at, tz) for e in purchases if e.amount})
        expected[scenario_label(customer)] = plain(
            {**asdict(row), "purchase_day_numbers": days, "paid_day_numbers": paid_days}
        )
    return expected


def test_every_path_stores_the_reference_rows_on_postgresql(scenario_venue):
    reference = _reference(scenario_venue)

    merged_at_ingestion = stored_rows(scenario_venue)
    facts.facts_refresh(venue=scenario_venue, customers=CUSTOMERS)
    refreshed = stored_rows(scenario_venue)
    facts.facts_rebuild(venue=scenario_venue)
    rebuilt = stored_rows(scenario_venue)

    assert merged_at_ingestion == reference
    assert refreshed == reference
    assert rebuilt == reference


def test_sqlite_stores_the_same_rows_as_postgresql(scenario_venue, sqlite_facts):
    facts.facts_rebuild(venue=scenario_venue)
    postgresql = stored_rows(scenario_venue)

    assert sqlite_facts["refreshed"] == postgresql
    assert sqlite_facts["rebuilt"] == postgresql


def test_sqlite_counts_each_purchase_day_it_lists(sqlite_facts):
    for rows in (sqlite_facts["refreshed"], sqlite_facts["rebuilt"]):
        assert {row["purchase_days"] for row in rows.values()} > {0}
        assert all(
            row["purchase_days"] == len(row["purchase_day_numbers"])
            and row["paid_purchase_days"] == len(row["paid_day_numbers"])
            for row in rows.values()
        )
    dst = sqlite_facts["rebuilt"]["dst"]
    assert {key: dst[key] for key in scenario.DST_FACTS} == scenario.DST_FACTS


def test_facts_as_of_an_instant_agree_across_databases(scenario_venue, sqlite_facts):
    assert sqlite_facts["as_of"] == as_of_rows(scenario_venue, customers=CUSTOMERS)
    assert "future_only" not in sqlite_facts["as_of"]
