"""Runs left `running` by a dead worker: the periodic tick fails them and queues their venue
again, as soon as the venue's lock is free, whatever their age."""

from __future__ import annotations

from customer_intel.db.locks import venue_lock_key
from customer_intel.models import RecomputeRun, RunMode, RunStatus
from customer_intel.services.recompute import ORPHAN_ERROR
from customer_intel.services.recompute.dispatch import queue_incremental_recomputes
from tests.factories import RunFactory, VenueFactory


def test_the_tick_fails_an_orphan_and_queues_its_venue_again(db):
    orphan = RunFactory(running=True)  # claimed a minute ago; its worker's session is gone
    incremental_orphan = RunFactory(venue=orphan.venue, running=True, incremental=True)

    queued = queue_incremental_recomputes()

    for run in (orphan, incremental_orphan):
        run.refresh_from_db()
        assert (run.status, run.error) == (RunStatus.FAILED, ORPHAN_ERROR)
    again = [run for run in queued if run.venue_id == orphan.venue_id]
    assert [(run.mode, run.status) for run in again] == [(RunMode.FULL, RunStatus.QUEUED)]


def test_the_tick_leaves_a_run_whose_venue_a_live_worker_holds(db, other_session):
    live = RunFactory(running=True)
    other_session.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(live.venue_id)])

    queued = queue_incremental_recomputes()

    live.refresh_from_db()
    assert live.status == RunStatus.RUNNING
    assert not [run for run in queued if run.venue_id == live.venue_id]
    assert RecomputeRun.objects.filter(venue=live.venue).count() == 1


def test_a_venue_without_runs_is_not_touched(db):
    venue = VenueFactory()
    queue_incremental_recomputes()
    assert not RecomputeRun.objects.filter(venue=venue).exists()
