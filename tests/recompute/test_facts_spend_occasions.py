"""The facts the spend model reads: the first purchase day's value and the paid days, the same
whether built from the event log (SQL and the portable ORM path) or kept by ingestion batch by
batch in any order."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from customer_intel.analytics.events import EventRecord, facts_from_events
from customer_intel.models import CustomerFacts
from customer_intel.privacy import pseudonymize
from customer_intel.services import facts as facts_service
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.recompute import rebuild_facts
from tests.factories import VenueFactory

CUSTOMER = pseudonymize("spend-occasions")
TIMEZONE = "America/New_York"
# (event id, UTC time, amount): local (New York) days 03-01, 03-03 and 03-05.
PURCHASES = [
    ("free", "2026-03-03T01:00", "0.00"),  # 03-02 20:00 EST: a free ticket, the first day
    ("same-day", "2026-03-03T03:30", "10.00"),  # 03-02 22:30 EST: the same local day, paid
    ("later", "2026-03-05T17:00", "40.00"),  # 03-05
    ("free-later", "2026-03-07T17:00", "0.00"),  # 03-07: a day with free tickets only
    ("earliest", "2026-03-01T15:00", "5.00"),  # 03-01: before the others, arriving last
]
EXPECTED = {"purchase_days": 4, "first_day_purchase_cents": 500, "paid_purchase_days": 3}


def _events(rows):  # type: ignore[no-untyped-def]
    return [
        ValidatedEvent(
            event_id=event_id,
            customer=CUSTOMER,
            type="ticket.purchased",
            occurred_at=datetime.fromisoformat(at).replace(tzinfo=UTC),
            amount=Decimal(amount),
            quantity=1,
        )
        for event_id, at, amount in rows
    ]


def _stored(venue) -> dict:  # type: ignore[no-untyped-def]
    return CustomerFacts.objects.filter(venue=venue, customer=CUSTOMER).values(
        "purchase_days",
        "first_day_purchase_cents",
        "paid_purchase_days",
        "purchase_day_numbers",
        "paid_day_numbers",
    )[0]


def test_the_reference_the_aggregate_and_the_rebuild_agree_on_the_hand_computed_values(db) -> None:
    venue = VenueFactory(timezone=TIMEZONE)
    events = _events(PURCHASES)
    ingest_events(venue=venue, events=events)
    reference = facts_from_events(
        CUSTOMER,
        [EventRecord(e.type, e.occurred_at, e.amount) for e in events],
        as_of=datetime(2026, 4, 1, tzinfo=UTC),
        tz=ZoneInfo(TIMEZONE),
    )
    # One definition of the facts (the ORM aggregate), the same on both backends; the stored
    # rows below come from the server-side rebuild built from it.
    rows, _ = facts_service.facts_for_customers(venue=venue, customers=[CUSTOMER], cutoff=None)

    assert {key: asdict(reference)[key] for key in EXPECTED} == EXPECTED
    assert asdict(rows[0]) == asdict(reference)
    rebuild_facts(venue=venue)
    stored = _stored(venue)
    assert {key: stored[key] for key in EXPECTED} == EXPECTED
    assert len(stored["paid_day_numbers"]) == 3 and len(stored["purchase_day_numbers"]) == 4


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(PURCHASES))))[::7])
def test_ingestion_keeps_them_whatever_the_batches_order(db, order) -> None:
    kept = VenueFactory(timezone=TIMEZONE)
    for index in order:
        ingest_events(venue=kept, events=_events([PURCHASES[index]]))
    rebuilt = VenueFactory(timezone=TIMEZONE)
    ingest_events(venue=rebuilt, events=_events(PURCHASES))
    rebuild_facts(venue=rebuilt)

    assert _stored(kept) == _stored(rebuilt)
    assert {key: _stored(kept)[key] for key in EXPECTED} == EXPECTED
