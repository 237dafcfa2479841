"""Runs the scenario through the engine on the embedded SQLite default and prints the profiles.

Started by test_sqlite.py in a subprocess with DATABASE_URL pointing at a scratch SQLite file,
so the portable path is exercised exactly as a new user runs it.
"""

from __future__ import annotations

import json
import sys

import django

django.setup()

from customer_intel.models import CustomerProfile, RunMode, SegmentSnapshot, Venue  # noqa: E402
from customer_intel.services.ingestion import ingest_events  # noqa: E402
from customer_intel.services.recompute import (  # noqa: E402
    compute_single_customer,
    run_recompute,
)
from tests.recompute import scenario  # noqa: E402


def _fields(profile) -> dict:  # type: ignore[no-untyped-def]
    return {
        k: str(v) if v is not None else None for k, v in scenario.profile_fields(profile).items()
    }


def main() -> None:
    by_pseudonym = {pseudonym: label for label, pseudonym in scenario.LABELS.items()}
    events = scenario.validated_events()
    report: dict = {}

    full_venue = Venue.objects.create(name="full", timezone=scenario.TIMEZONE)
    ingest_events(venue=full_venue, events=events)
    run = run_recompute(venue=full_venue, mode=RunMode.FULL, as_of=scenario.AS_OF, chunk_size=2)
    report["full_status"] = run.status
    report["full"] = {
        by_pseudonym[p.customer]: _fields(p)
        for p in CustomerProfile.objects.filter(venue=full_venue)
    }
    report["snapshot"] = SegmentSnapshot.objects.get(venue=full_venue).segment_counts

    incremental_venue = Venue.objects.create(name="incremental", timezone=scenario.TIMEZONE)
    ingest_events(venue=incremental_venue, events=events[:8])
    run_recompute(venue=incremental_venue, mode=RunMode.INCREMENTAL, as_of=scenario.AS_OF)
    ingest_events(venue=incremental_venue, events=events[8:])
    run = run_recompute(
        venue=incremental_venue, mode=RunMode.INCREMENTAL, as_of=scenario.AS_OF, chunk_size=2
    )
    report["incremental_status"] = run.status
    report["incremental"] = {
        by_pseudonym[p.customer]: _fields(p)
        for p in CustomerProfile.objects.filter(venue=incremental_venue)
    }

    single_venue = Venue.objects.create(name="single", timezone=scenario.TIMEZONE)
    ingest_events(venue=single_venue, events=events)
    report["single"] = {}
    for label, pseudonym in scenario.LABELS.items():
        profile = compute_single_customer(
            venue=single_venue, customer=pseudonym, as_of=scenario.AS_OF
        )
        if profile is not None:
            report["single"][label] = _fields(profile)
    report["single_stored"] = CustomerProfile.objects.filter(venue=single_venue).count()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
