"""Real workers against real PostgreSQL and a real Redis: the scheduled path end to end, a
worker killed mid-run, two runs at once, and a broker outage.

Every test commits its data (transaction=True) so that the workers, in other threads or
processes, see it. Waits poll the database with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from customer_intel import tasks
from customer_intel.models import (
    CustomerEvent,
    CustomerProfile,
    PendingCustomer,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
)
from customer_intel.services.recompute import ORPHAN_ERROR, queue_recompute, run_recompute
from tests.factories import MembershipFactory, VenueFactory, token_for
from tests.sessions import raw_connection
from tests.worker.conftest import (
    ingest_purchases,
    profile_snapshot,
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SNAPSHOT_TABLE = SegmentSnapshot._meta.db_table


def _days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _run_status(run_id: int) -> str:
    return RecomputeRun.objects.values_list("status", flat=True).get(pk=run_id)


def _succeeded(run_id: int) -> bool:
    status = _run_status(run_id)
    assert status not in (RunStatus.FAILED, RunStatus.SKIPPED), f"run {run_id} ended {status}"
    return status == RunStatus.SUCCEEDED


def _backend_waiting_on_lock(database: str, exclude_pid: int) -> int | None:
    """The pid of a session of `database` blocked on a lock inside a transaction."""
    with raw_connection() as observer:
        row = observer.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s "
            "AND wait_event_type = 'Lock' AND xact_start IS NOT NULL",
            [database, exclude_pid],
        ).fetchone()
    return row[0] if row else None


def _backend_gone(pid: int) -> bool:
    with raw_connection() as observer:
        return not observer.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()


def test_the_scheduled_tick_through_a_real_worker_writes_the_profiles(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    venue = VenueFactory()
    vip = ingest_purchases(venue, "vip", [(_days_ago(5 + 40 * i), "300.00") for i in range(6)])
    occasional = ingest_purchases(venue, "occasional", [(_days_ago(12), "35.00")])
    dormant = ingest_purchases(venue, "dormant", [(_days_ago(200), "80.00")])
    assert PendingCustomer.objects.filter(venue=venue).count() == 3

    start_worker(private_redis.url)

    tasks.queue_incremental_recomputes.delay()  # what beat sends every 5 minutes
    run = wait_for(
        lambda: RecomputeRun.objects.filter(venue=venue, status=RunStatus.SUCCEEDED).first(),
        what="the incremental run to succeed",
    )

    assert run.mode == RunMode.INCREMENTAL
    assert run.customers_processed == 3
    segments = dict(CustomerProfile.objects.filter(venue=venue).values_list("customer", "segment"))
    assert segments == {vip: "vip", occasional: "occasional", dormant: "dormant"}
    assert not PendingCustomer.objects.filter(venue=venue).exists()
    snapshot = SegmentSnapshot.objects.get(venue=venue)
    assert snapshot.total_customers == 3


def test_a_worker_killed_mid_run_leaves_the_previous_snapshot_and_the_run_is_failed_next(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    database = connection.settings_dict["NAME"]
    venue = VenueFactory()
    customers = [
        ingest_purchases(venue, f"fan-{n}", [(_days_ago(20 + n), "60.00")]) for n in range(30)
    ]
    worker = start_worker(private_redis.url)

    first = queue_recompute(venue=venue, mode=RunMode.FULL)
    wait_for(lambda: _succeeded(first.pk), what="the first full run")
    previous = profile_snapshot(venue)
    assert len(previous) == 30

    # New purchases that change every profile (occasional → vip).
    for n, raw in enumerate(f"fan-{n}" for n in range(30)):
        ingest_purchases(
            venue, raw, [(_days_ago(1 + i), "400.00") for i in range(5)], prefix=f"more-{n}-"
        )

    with raw_connection() as blocker:
        # The full run writes the segment snapshot last, after replacing every profile in its
        # transaction: holding the table makes the worker stop there, mid-run, uncommitted.
        blocker.execute("BEGIN")
        blocker.execute(f"LOCK TABLE {SNAPSHOT_TABLE} IN SHARE MODE")
        second = queue_recompute(venue=venue, mode=RunMode.FULL)
        backend = wait_for(
            lambda: _backend_waiting_on_lock(database, blocker.info.backend_pid),
            what="the worker's transaction to reach the snapshot write",
        )
        assert _run_status(second.pk) == RunStatus.RUNNING

        os.kill(worker.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)

        assert profile_snapshot(venue) == previous  # readers still see the old snapshot
        blocker.execute("ROLLBACK")

    # The dead client's session aborts its transaction and closes (releasing the venue lock).
    wait_for(lambda: _backend_gone(backend), timeout=30, what="the killed worker's session")
    assert profile_snapshot(venue) == previous
    assert _run_status(second.pk) == RunStatus.RUNNING

    third = run_recompute(venue=venue, mode=RunMode.FULL)

    assert third.status == RunStatus.SUCCEEDED
    second.refresh_from_db()
    assert (second.status, second.error) == (RunStatus.FAILED, ORPHAN_ERROR)
    after = dict(CustomerProfile.objects.filter(venue=venue).values_list("customer", "segment"))
    assert after == dict.fromkeys(customers, "vip")


def test_two_runs_asked_for_at_once_give_the_result_of_one(private_redis, use_broker):
    venue = VenueFactory()
    customers = [
        ingest_purchases(venue, f"guest-{n}", [(_days_ago(3 + n), "25.00")]) for n in range(20)
    ]
    database = connection.settings_dict["NAME"]
    results: dict[str, Any] = {}
    start_together = threading.Barrier(2)

    def run(name: str) -> None:
        try:
            start_together.wait(timeout=10)
            results[name] = run_recompute(venue=venue, mode=RunMode.FULL)
        except Exception as exc:  # reported by the assertions below
            results[name] = exc
        finally:
            connections.close_all()

    with raw_connection() as blocker:
        # Slows whichever run gets the venue first at its last write, so the two overlap.
        blocker.execute("BEGIN")
        blocker.execute(f"LOCK TABLE {SNAPSHOT_TABLE} IN SHARE MODE")
        threads = [threading.Thread(target=run, args=(name,)) for name in ("one", "two")]
        for thread in threads:
            thread.start()
        wait_for(
            lambda: _backend_waiting_on_lock(database, blocker.info.backend_pid),
            what="one run to be mid-write",
        )
        wait_for(lambda: len(results) == 1, what="the other run to return")
        blocker.execute("ROLLBACK")
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(run.status for run in results.values())
    assert statuses == [RunStatus.SKIPPED, RunStatus.SUCCEEDED]
    [winner] = [run for run in results.values() if run.status == RunStatus.SUCCEEDED]
    [loser] = [run for run in results.values() if run.status == RunStatus.SKIPPED]
    assert loser.customers_processed == 0
    profiles = CustomerProfile.objects.filter(venue=venue)
    assert sorted(profiles.values_list("customer", flat=True)) == sorted(customers)
    assert set(profiles.values_list("as_of", flat=True)) == {winner.as_of}
    assert SegmentSnapshot.objects.get(venue=venue).run_id == winner.pk


def test_with_the_broker_down_ingestion_and_reads_work_and_queued_runs_resume(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    venue = VenueFactory()
    writer = MembershipFactory(venue=venue, can_write=True).user
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(writer)}")
    ingest_purchases(venue, "regular-guest", [(_days_ago(30), "50.00")])
    run_recompute(venue=venue, mode=RunMode.FULL)
    worker = start_worker(private_redis.url)

    private_redis.stop()

    response = client.post(
        f"/events/venue/{venue.pk}",
        {
            "events": [
                {
                    "eventId": "outage-1",
                    "customerId": "new-during-outage",
                    "type": "ticket.purchased",
                    "occurredAt": _days_ago(2).isoformat(),
                    "amount": "120.00",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    assert CustomerEvent.objects.filter(venue=venue, event_id="outage-1").exists()
    assert PendingCustomer.objects.filter(venue=venue).count() == 1

    profile = client.get(f"/customers/venue/{venue.pk}/regular-guest")
    assert profile.status_code == 200, profile.content

    started = time.monotonic()
    run = queue_recompute(venue=venue)
    assert time.monotonic() - started < 5
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED

    private_redis.start()
    # The next tick finds the run still queued (as it will, minutes later) and sends it again.
    RecomputeRun.objects.filter(pk=run.pk).update(
        requested_at=timezone.now() - timedelta(minutes=3)
    )
    tasks.queue_incremental_recomputes()

    wait_for(lambda: _succeeded(run.pk), what="the queued run to succeed after the outage")
    assert worker.process.poll() is None  # the same worker reconnected by itself
    assert CustomerProfile.objects.filter(venue=venue).count() == 2
    assert not PendingCustomer.objects.filter(venue=venue).exists()
    assert RecomputeRun.objects.filter(venue=venue, mode=RunMode.INCREMENTAL).count() == 1


def test_a_database_connection_lost_mid_run_is_retried_and_the_run_succeeds(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    database = connection.settings_dict["NAME"]
    venue = VenueFactory()
    customers = [
        ingest_purchases(venue, f"patron-{n}", [(_days_ago(15 + n), "45.00")]) for n in range(10)
    ]
    worker = start_worker(private_redis.url)

    with raw_connection() as blocker:
        blocker.execute("BEGIN")
        blocker.execute(f"LOCK TABLE {SNAPSHOT_TABLE} IN SHARE MODE")
        run = queue_recompute(venue=venue, mode=RunMode.FULL)
        backend = wait_for(
            lambda: _backend_waiting_on_lock(database, blocker.info.backend_pid),
            what="the worker's transaction to reach the snapshot write",
        )
        # What a database failover or restart does to a worker's session.
        with raw_connection() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [backend])
        blocker.execute("ROLLBACK")

    wait_for(lambda: _succeeded_after_retry(run.pk), what="the retried run to succeed")
    assert worker.process.poll() is None
    assert "Retry in" in worker.output()
    assert sorted(
        CustomerProfile.objects.filter(venue=venue).values_list("customer", flat=True)
    ) == sorted(customers)


def _succeeded_after_retry(run_id: int) -> bool:
    # The failed attempt may be recorded `failed` before its retry claims the run again.
    return _run_status(run_id) == RunStatus.SUCCEEDED
