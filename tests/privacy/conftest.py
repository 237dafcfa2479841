"""Builders for the personal-data tests: customers with purchases, and the rows a venue holds
about one customer."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    EventType,
    PendingCustomer,
    Venue,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def purchase(raw_id: str, event_id: str, occurred_at: datetime, amount: str = "40.00"):  # type: ignore[no-untyped-def]
    return ValidatedEvent(
        event_id=event_id,
        customer=pseudonymize(raw_id),
        type=EventType.TICKET_PURCHASED,
        occurred_at=occurred_at,
        amount=Decimal(amount),
        quantity=1,
        event_category="concert",
    )


def buy(venue: Venue, raw_id: str, *days: float, prefix: str = "") -> str:
    """Ingest one purchase of `raw_id` per entry of `days` (days ago); returns the pseudonym."""
    events = [
        purchase(raw_id, f"{prefix}{raw_id}-{n}", days_ago(day)) for n, day in enumerate(days)
    ]
    ingest_events(venue=venue, events=events)
    return pseudonymize(raw_id)


def held_rows(venue: Venue, customer: str) -> dict[str, int]:
    """How many rows of each table the venue holds about the pseudonym `customer`."""
    return {
        "events": CustomerEvent.objects.filter(venue=venue, customer=customer).count(),
        "facts": CustomerFacts.objects.filter(venue=venue, customer=customer).count(),
        "profiles": CustomerProfile.objects.filter(venue=venue, customer=customer).count(),
        "pending": PendingCustomer.objects.filter(venue=venue, customer=customer).count(),
    }


NOTHING = {"events": 0, "facts": 0, "profiles": 0, "pending": 0}


def dump_database() -> str:
    settings = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "-h", settings["HOST"], "-p", str(settings["PORT"]), "-U", settings["USER"],
         "--no-owner", settings["NAME"]],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return dump.stdout


def dump_tables_holding(dump: str, text: str) -> set[str]:
    """The tables whose COPY data in a pg_dump holds `text`."""
    tables: set[str] = set()
    table = None
    for line in dump.splitlines():
        if line.startswith("COPY "):
            table = line.split()[1]
        elif line == "\\.":
            table = None
        elif text in line:
            tables.add(table or "(outside table data)")
    return tables
