"""An as-of in the future is refused with nothing stored; one in the past replaces the live
profiles, says so, and is healed by the next tick once the nightly time has passed it.

(Runs queued here are never sent: the test's transaction is rolled back, and tasks are sent on
commit. tests/worker/test_back_dated_healing.py runs the healing through a real worker.)"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from customer_intel.models import (
    CustomerProfile,
    EventType,
    PredictionModelFit,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.live_as_of import (
    NIGHTLY_TASK,
    venues_behind_nightly,
    venues_live_as_of,
)
from customer_intel.services.recompute import AsOfInFuture, run_recompute
from customer_intel.services.recompute.dispatch import queue_incremental_recomputes
from tests.factories import RunFactory, VenueFactory


def _buy(venue, customer: str, days_ago: int, amount: str = "40.00") -> None:  # type: ignore[no-untyped-def]
    ingest_events(
        venue=venue,
        events=[
            ValidatedEvent(
                event_id=f"{customer}-{days_ago}",
                customer=pseudonymize(customer),
                type=EventType.TICKET_PURCHASED,
                occurred_at=timezone.now() - timedelta(days=days_ago),
                amount=Decimal(amount),
                quantity=1,
            )
        ],
    )


@pytest.fixture
def venue(db):  # type: ignore[no-untyped-def]
    venue = VenueFactory()
    _buy(venue, "early", 300)
    _buy(venue, "late", 3)
    return venue


def test_the_command_refuses_a_future_as_of_and_stores_nothing(venue) -> None:
    future = (timezone.now() + timedelta(days=365 * 4)).isoformat()
    with pytest.raises(CommandError, match="in the future") as refused:
        call_command("recompute", str(venue.pk), "--full", "--as-of", future, stdout=io.StringIO())
    assert "Nothing was recomputed or stored" in str(refused.value)
    assert not RecomputeRun.objects.filter(venue=venue).exists()
    assert not CustomerProfile.objects.filter(venue=venue).exists()
    assert not SegmentSnapshot.objects.filter(venue=venue).exists()
    assert not PredictionModelFit.objects.filter(venue=venue).exists()


def test_the_engine_refuses_a_future_as_of_before_touching_anything(venue) -> None:
    run_recompute(venue=venue, mode=RunMode.FULL)
    before = list(CustomerProfile.objects.filter(venue=venue).values_list("customer", "as_of"))
    run = RunFactory(venue=venue)

    with pytest.raises(AsOfInFuture):
        run_recompute(
            venue=venue, mode=RunMode.FULL, as_of=timezone.now() + timedelta(hours=1), run=run
        )

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "in the future" in run.error
    after = list(CustomerProfile.objects.filter(venue=venue).values_list("customer", "as_of"))
    assert after == before


def test_a_past_as_of_reproduces_that_instant_and_says_it_replaced_the_live_profiles(venue) -> None:
    past = timezone.now() - timedelta(days=100)
    out = io.StringIO()

    call_command("recompute", str(venue.pk), "--full", "--as-of", past.isoformat(), stdout=out)

    # Only the customer who had bought by then has a profile, as of then.
    profiles = CustomerProfile.objects.filter(venue=venue)
    assert [p.customer for p in profiles] == [pseudonymize("early")]
    assert profiles.get().as_of == past
    text = out.getvalue()
    assert f"now show their state as of {past.isoformat()}, not now" in text
    assert "next scheduled tick" in text
    assert venues_live_as_of()[venue.pk] == past


def test_an_incremental_run_back_in_time_runs_as_a_full_run(venue) -> None:
    run_recompute(venue=venue, mode=RunMode.FULL)
    past = timezone.now() - timedelta(days=100)

    run = run_recompute(venue=venue, mode=RunMode.INCREMENTAL, as_of=past)

    run.refresh_from_db()
    assert (run.mode, run.status, run.customers_processed) == (RunMode.FULL, RunStatus.SUCCEEDED, 1)
    profiles = CustomerProfile.objects.filter(venue=venue)
    assert [(p.customer, p.as_of) for p in profiles] == [(pseudonymize("early"), past)]
    snapshot = SegmentSnapshot.objects.get(venue=venue)
    assert (snapshot.as_of, snapshot.total_customers) == (past, 1)
    # Forward in time an incremental run stays incremental.
    later = run_recompute(venue=venue, mode=RunMode.INCREMENTAL)
    assert later.mode == RunMode.INCREMENTAL


def test_a_run_as_of_now_says_nothing_about_back_dating(venue) -> None:
    out = io.StringIO()
    call_command("recompute", str(venue.pk), "--full", stdout=out)
    assert "not now" not in out.getvalue()


def _nightly_ran_at(moment: datetime | None) -> None:
    """Beat's record of the nightly task, whether or not a test before this one flushed the
    schedules the migration created."""
    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.get_or_create(
        task=NIGHTLY_TASK, defaults={"name": "nightly (test)", "interval": every_day}
    )
    PeriodicTask.objects.filter(task=NIGHTLY_TASK).update(last_run_at=moment)


def test_the_tick_heals_a_venue_left_behind_the_nightly_time_once(venue) -> None:
    past = timezone.now() - timedelta(days=100)
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=past)
    _nightly_ran_at(timezone.now() - timedelta(hours=2))
    assert list(venues_behind_nightly()) == [venue]

    queued = queue_incremental_recomputes()

    healing = [run for run in queued if run.venue_id == venue.pk]
    assert len(healing) == 1
    assert healing[0].mode == RunMode.FULL and healing[0].as_of is None  # as of now, when run
    # Once asked for, not asked for again by the next ticks of the same night.
    assert list(venues_behind_nightly()) == []
    again = queue_incremental_recomputes()
    assert not [run for run in again if run.venue_id == venue.pk and run.mode == RunMode.FULL]


def test_the_tick_leaves_alone_a_venue_computed_after_the_nightly_time(venue) -> None:
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=timezone.now() - timedelta(minutes=30))
    _nightly_ran_at(timezone.now() - timedelta(hours=2))
    assert list(venues_behind_nightly()) == []


def test_before_any_nightly_run_nothing_is_healed(venue) -> None:
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=timezone.now() - timedelta(days=100))
    _nightly_ran_at(None)
    assert list(venues_behind_nightly()) == []


def test_a_venue_with_a_run_queued_is_not_healed_twice(venue) -> None:
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=timezone.now() - timedelta(days=100))
    _nightly_ran_at(timezone.now() - timedelta(hours=2))
    RunFactory(venue=venue, incremental=True)
    queued = queue_incremental_recomputes()
    assert not [run for run in queued if run.venue_id == venue.pk]
