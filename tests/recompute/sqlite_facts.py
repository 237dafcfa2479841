"""Stores the scenario's facts on the embedded SQLite default and prints them as JSON.

Started by test_facts_parity.py in a subprocess with DATABASE_URL pointing at a scratch SQLite
file: the facts rows each path stores there, to compare with PostgreSQL's.
"""

from __future__ import annotations

import json
import sys

import django

django.setup()

from customer_intel.models import Venue  # noqa: E402
from customer_intel.services import facts  # noqa: E402
from customer_intel.services.ingestion import ingest_events  # noqa: E402
from tests.recompute import scenario  # noqa: E402
from tests.recompute.facts_rows import as_of_rows, stored_rows  # noqa: E402


def main() -> None:
    venue = Venue.objects.create(name="facts", timezone=scenario.TIMEZONE)
    ingest_events(venue=venue, events=scenario.validated_events())
    customers = sorted({row[0] for row in scenario.EVENTS})
    report = {"as_of": as_of_rows(venue, customers=customers)}
    facts.facts_refresh(venue=venue, customers=customers)
    report["refreshed"] = stored_rows(venue)
    facts.facts_rebuild(venue=venue)
    report["rebuilt"] = stored_rows(venue)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
