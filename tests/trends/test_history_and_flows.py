"""Every run leaves its counts in the history; consecutive full runs leave exact flows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    RunMode,
    SegmentSnapshot,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.recompute import run_recompute
from customer_intel.trends.history import history_points, history_prune
from customer_intel.trends.models import SegmentFlowSet, SegmentHistoryPoint
from tests.factories import VenueFactory

DAY_ONE = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2026-03-01 18:30 in New York
DAY_TWO = DAY_ONE + timedelta(days=100)


def _purchase(raw_id: str, when: datetime, amount: str = "40.00", n: int = 0) -> ValidatedEvent:
    return ValidatedEvent(
        event_id=f"{raw_id}-{when:%Y%m%d%H%M}-{n}",
        customer=pseudonymize(raw_id),
        type="ticket.purchased",
        occurred_at=when,
        amount=Decimal(amount),
        quantity=1,
    )


def _view(raw_id: str, when: datetime) -> ValidatedEvent:
    return ValidatedEvent(
        event_id=f"{raw_id}-view-{when:%Y%m%d%H%M}",
        customer=pseudonymize(raw_id),
        type="page.viewed",
        occurred_at=when,
        amount=None,
        quantity=1,
    )


@pytest.fixture
def venue(db):
    venue = VenueFactory(timezone="America/New_York")
    start = DAY_ONE - timedelta(days=400)
    events = [_view("browser", DAY_ONE - timedelta(days=3))]
    for i in range(6):  # regulars: several purchases a year, the last one recent on day one
        events += [
            _purchase(f"regular-{i}", DAY_ONE - timedelta(days=20 + 40 * k), n=k) for k in range(5)
        ]
    for i in range(4):  # bought once long ago: lost on both days
        events.append(_purchase(f"lapsed-{i}", start))
    events.append(_purchase("erased", DAY_ONE - timedelta(days=10)))
    ingest_events(venue=venue, events=events)
    return venue


def _snapshot_counts(venue) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return dict(SegmentSnapshot.objects.get(venue=venue).segment_counts)


def _sum_by(flows: list, position: int) -> Counter:
    totals: Counter = Counter()
    for flow in flows:
        totals[flow[position]] += flow[2]
    return totals


def test_history_has_a_point_per_local_day_with_the_runs_counts(venue):
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_ONE - timedelta(hours=2))
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_ONE)  # same local day: replaces
    first_counts = _snapshot_counts(venue)
    ingest_events(venue=venue, events=[_purchase("newcomer", DAY_TWO - timedelta(days=1))])
    second = run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_TWO)
    second_counts = _snapshot_counts(venue)

    points = history_points(venue=venue, date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))

    assert [p.local_date for p in points] == [
        date(2026, 3, 1),
        (DAY_TWO - timedelta(hours=5)).date(),
    ]
    assert points[0].segment_counts == first_counts
    assert points[1].segment_counts == second_counts
    assert points[1].run_id == second.pk
    assert points[1].total_customers == sum(second_counts.values())


def test_flows_between_full_runs_sum_to_both_runs_counts(venue):
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_ONE)
    earlier = _snapshot_counts(venue)
    # Between the full runs: a newcomer, an incremental run, and an erased customer.
    ingest_events(venue=venue, events=[_purchase("newcomer", DAY_ONE + timedelta(days=1))])
    run_recompute(venue=venue, mode=RunMode.INCREMENTAL, as_of=DAY_ONE + timedelta(days=2))
    CustomerProfile.objects.filter(venue=venue, customer=pseudonymize("erased")).delete()
    CustomerEvent.objects.filter(venue=venue, customer=pseudonymize("erased")).delete()
    CustomerFacts.objects.filter(venue=venue, customer=pseudonymize("erased")).delete()

    run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_TWO)
    later = _snapshot_counts(venue)
    flows = SegmentFlowSet.objects.filter(venue=venue).order_by("-id").first()

    by_origin = _sum_by(flows.segment_flows, 0)
    by_target = _sum_by(flows.segment_flows, 1)
    entered = by_origin.pop(None)
    left = by_target.pop(None)
    assert {k: v for k, v in by_origin.items()} == {k: v for k, v in earlier.items() if v}
    assert {k: v for k, v in by_target.items()} == {k: v for k, v in later.items() if v}
    assert entered == 1  # the newcomer, though an incremental run already counted them
    assert left == 1  # the erased customer
    # Regulars who stopped buying moved: 100 days after day one they are at risk.
    assert ["regular", "at_risk", 6] in flows.segment_flows
    assert ["lost", "lost", 4] in flows.segment_flows
    rfm_origin = _sum_by(flows.rfm_segment_flows, 0)
    rfm_origin.pop(None)
    assert sum(rfm_origin.values()) == sum(earlier.values())


def test_history_older_than_the_venue_setting_is_pruned(venue):
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_ONE)
    assert SegmentHistoryPoint.objects.filter(venue=venue).count() == 1
    venue.history_retention_days = 30
    assert history_prune(venue=venue, today=date(2026, 3, 31)) == 0
    assert history_prune(venue=venue, today=date(2026, 4, 1)) == 1
    # A full run prunes by itself: the March point is more than 30 days before today.
    venue.save()
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_ONE)
    assert not SegmentHistoryPoint.objects.filter(venue=venue).exists()
