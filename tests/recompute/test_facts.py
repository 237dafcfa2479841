"""The aggregation of events into facts agrees with the pure reference aggregator and with
hand-computed values; ingestion keeps facts equal to a rebuild; pending marks are taken in
chunks. (Across databases: test_facts_parity.py.)"""

from __future__ import annotations

import itertools
from dataclasses import asdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_intel.analytics.events import EventRecord, facts_from_events
from customer_intel.models import CustomerEvent, CustomerFacts, PendingCustomer
from customer_intel.services import facts as facts_service
from customer_intel.services.facts import FACT_FIELDS
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.recompute import rebuild_facts
from tests.factories import VenueFactory
from tests.recompute import scenario
from tests.recompute.scenario import AS_OF

CUSTOMERS = sorted({row[0] for row in scenario.EVENTS})
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def _reference(venue, *, as_of: datetime) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    expected = {}
    for customer in CUSTOMERS:
        events = [
            EventRecord(
                type=e.type,
                occurred_at=e.occurred_at,
                amount=e.amount,
                quantity=e.quantity,
                event_category=e.event_category,
            )
            for e in CustomerEvent.objects.filter(venue=venue, customer=customer)
        ]
        row = facts_from_events(customer, events, as_of=as_of, tz=ZoneInfo(venue.timezone))
        if row is not None:
            expected[customer] = asdict(row)
    return expected


def _as_dicts(rows) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {row.customer: asdict(row) for row in rows}


def _stored(venue) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {
        values[0]: dict(zip(FACT_FIELDS, values, strict=True))
        for values in CustomerFacts.objects.filter(venue=venue).values_list(*FACT_FIELDS)
    }


def test_facts_as_of_match_the_reference_and_the_hand_computed_dst_customer(scenario_venue):
    rows, events_read = facts_service.facts_for_customers(
        venue=scenario_venue, customers=CUSTOMERS, cutoff=AS_OF
    )

    assert _as_dicts(rows) == _reference(scenario_venue, as_of=AS_OF)
    assert scenario.FUTURE_ONLY not in _as_dicts(rows)
    assert events_read == len(scenario.EVENTS) - 3  # three events lie after AS_OF
    dst = _as_dicts(rows)[scenario.DST]
    assert {key: dst[key] for key in scenario.DST_FACTS} == scenario.DST_FACTS


def test_refresh_stores_facts_over_every_event(scenario_venue):
    rows, events_read = facts_service.facts_refresh(venue=scenario_venue, customers=CUSTOMERS)

    reference = _reference(scenario_venue, as_of=END_OF_TIME)
    assert _as_dicts(rows) == reference
    assert _stored(scenario_venue) == reference
    assert events_read == len(scenario.EVENTS)
    late = _stored(scenario_venue)[scenario.LATE]
    assert (late["purchase_count"], late["purchase_cents"]) == (2, 60_000)


def test_rebuild_matches_refresh_and_follows_a_time_zone_change(scenario_venue):
    facts_service.facts_refresh(venue=scenario_venue, customers=CUSTOMERS)
    refreshed = _stored(scenario_venue)

    assert rebuild_facts(venue=scenario_venue) == len(scenario.EVENTS)
    assert _stored(scenario_venue) == refreshed

    scenario_venue.timezone = "UTC"
    scenario_venue.save()
    rebuild_facts(venue=scenario_venue)
    dst = _stored(scenario_venue)[scenario.DST]
    # In UTC: 16:30, 16:30, 15:30 afternoon, 03:30 morning; four different dates.
    assert (dst["morning_purchases"], dst["afternoon_purchases"], dst["evening_purchases"]) == (
        1,
        3,
        0,
    )
    assert dst["purchase_days"] == 4


def test_pending_marks_are_taken_in_chunks_and_only_for_this_venue(scenario_venue):
    other_venue = VenueFactory()
    ingest_events(venue=other_venue, events=scenario.validated_events(scenario.EVENTS[:1]))

    chunks = list(facts_service.pending_take(venue=scenario_venue, chunk_size=3))

    assert [len(chunk.customers) for chunk in chunks] == [3, 3, 1]
    assert [c for chunk in chunks for c in chunk.customers] == CUSTOMERS
    # Ingestion kept every one's facts current.
    assert all(chunk.facts_current == set(chunk.customers) for chunk in chunks)
    assert list(facts_service.pending_take(venue=scenario_venue, chunk_size=3)) == []
    assert PendingCustomer.objects.filter(venue=other_venue).count() == 1


_STORED_FIELDS = (*FACT_FIELDS, "purchase_day_numbers", "paid_day_numbers")


def _stored_with_days(venue) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {
        values[0]: dict(zip(_STORED_FIELDS, values, strict=True))
        for values in CustomerFacts.objects.filter(venue=venue).values_list(*_STORED_FIELDS)
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_facts_kept_by_ingestion_equal_a_rebuild_whatever_the_batches(db, data):
    events = scenario.validated_events()
    order = data.draw(st.permutations(range(len(events))), label="arrival order")
    cuts = data.draw(
        st.lists(st.integers(1, len(events) - 1), unique=True, max_size=6), label="batch ends"
    )
    replayed = data.draw(st.lists(st.sampled_from(range(len(events))), max_size=4))
    arriving = [events[i] for i in order]
    bounds = [0, *sorted(cuts), len(arriving)]
    kept = VenueFactory(timezone=scenario.TIMEZONE)
    for start, end in itertools.pairwise(bounds):
        ingest_events(venue=kept, events=arriving[start:end])
    # Replays are duplicates: they must change nothing.
    ingest_events(venue=kept, events=[events[i] for i in replayed])
    rebuilt = VenueFactory(timezone=scenario.TIMEZONE)
    ingest_events(venue=rebuilt, events=events)
    rebuild_facts(venue=rebuilt)

    kept_facts = _stored_with_days(kept)
    assert kept_facts == _stored_with_days(rebuilt)
    dst = kept_facts[scenario.DST]
    assert {key: dst[key] for key in scenario.DST_FACTS} == scenario.DST_FACTS
    assert all(
        facts["purchase_days"] == len(facts["purchase_day_numbers"])
        and facts["paid_purchase_days"] == len(facts["paid_day_numbers"])
        for facts in kept_facts.values()
    )


def test_a_bulk_loaded_mark_stays_stale_when_ingestion_marks_the_customer_again(scenario_venue):
    PendingCustomer.objects.filter(venue=scenario_venue, customer=scenario.VIP).update(
        facts_current=False
    )
    ingest_events(
        venue=scenario_venue,
        events=scenario.validated_events(
            [(scenario.VIP, scenario.PURCHASED, "2026-06-14T12:00", "60.00", 1, "opera")],
            prefix="again",
        ),
    )

    pending = PendingCustomer.objects.filter(venue=scenario_venue)
    marks = dict(pending.values_list("customer", "facts_current"))
    assert marks[scenario.VIP] is False
    assert all(current for customer, current in marks.items() if customer != scenario.VIP)
