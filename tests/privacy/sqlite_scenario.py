"""Erasure, suppression and a retention purge on the embedded SQLite default; prints a report.

Started by test_sqlite.py in a subprocess on a scratch SQLite file, so the portable paths run
exactly as a new user runs them.
"""

from __future__ import annotations

import json

import django

django.setup()

from customer_intel.models import (  # noqa: E402
    CustomerEvent,
    CustomerProfile,
    PendingCustomer,
    PrivacyAuditEntry,
    RunMode,
    SegmentSnapshot,
    Venue,
)
from customer_intel.services.audit import Actor  # noqa: E402
from customer_intel.services.erasure import customer_erase  # noqa: E402
from customer_intel.services.ingestion import ingest_events  # noqa: E402
from customer_intel.services.recompute import run_recompute  # noqa: E402
from customer_intel.services.retention import events_purge_expired  # noqa: E402
from tests.privacy.conftest import buy, days_ago, purchase  # noqa: E402


def main() -> None:
    venue = Venue.objects.create(name="embedded", event_retention_days=30)
    alice = buy(venue, "alice@example.com", 60, 10)
    old = buy(venue, "old@example.com", 90, 45)
    buy(venue, "recent@example.com", 5)
    run_recompute(venue=venue, mode=RunMode.FULL)
    actor = Actor.command_user()

    erased = customer_erase(venue=venue, customer=alice, actor=actor, suppress=True)
    again = purchase("alice@example.com", "again", days_ago(1))
    replay = ingest_events(venue=venue, events=[again])
    purge = events_purge_expired(venue=venue, actor=actor, batch_size=1, recompute=False)
    old_marked = PendingCustomer.objects.filter(venue=venue, customer=old).exists()
    incremental = run_recompute(venue=venue, mode=RunMode.INCREMENTAL)
    snapshot = SegmentSnapshot.objects.get(venue=venue)
    report = {
        "erased": [erased.events, erased.profiles],
        "replay": [replay.accepted, replay.suppressed],
        "alice_events": CustomerEvent.objects.filter(customer=alice).count(),
        "purged": [purge.events, purge.batches] if purge else None,
        "old_marked": old_marked,
        "incremental": incremental.status,
        "profiles": CustomerProfile.objects.filter(venue=venue).count(),
        "old_profile": CustomerProfile.objects.filter(customer=old).exists(),
        "total_customers": snapshot.total_customers,
        "audit": list(PrivacyAuditEntry.objects.order_by("id").values_list("action", flat=True)),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
