"""Real workers recovering by themselves: a restarted worker fails the run its predecessor was
killed in and recomputes the venue at once; runs queued while the broker was down go out as
soon as it is back; a connection killed during the profiles' COPY is retried.

No test calls the periodic tick: what is checked is that nothing waits for it.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from customer_intel.models import (
    CustomerProfile,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
)
from customer_intel.services.recompute import ORPHAN_ERROR
from customer_intel.services.recompute.dispatch import queue_recompute
from tests.api.conftest import make_profile
from tests.factories import VenueFactory
from tests.sessions import raw_connection
from tests.worker.conftest import ingest_purchases, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SNAPSHOT_TABLE = SegmentSnapshot._meta.db_table


def _days_ago(days: int):  # type: ignore[no-untyped-def]
    return timezone.now() - timedelta(days=days)


def _status(run_id: int) -> str:
    return RecomputeRun.objects.values_list("status", flat=True).get(pk=run_id)


def _backend(database: str, *, waiting_on_lock: bool, query_prefix: str = "") -> int | None:
    with raw_connection() as observer:
        row = observer.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND (wait_event_type = 'Lock') = %s AND query LIKE %s AND xact_start IS NOT NULL",
            [database, waiting_on_lock, f"{query_prefix}%"],
        ).fetchone()
    return row[0] if row else None


def _backend_gone(pid: int) -> bool:
    with raw_connection() as observer:
        return not observer.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()


def test_a_restarted_worker_fails_the_orphan_and_recomputes_the_venue_at_once(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    database = connection.settings_dict["NAME"]
    venue = VenueFactory()
    customers = [
        ingest_purchases(venue, f"fan-{n}", [(_days_ago(20 + n), "60.00")]) for n in range(20)
    ]
    worker = start_worker(private_redis.url)
    first = queue_recompute(venue=venue, mode=RunMode.FULL)
    wait_for(lambda: _status(first.pk) == RunStatus.SUCCEEDED, what="the first full run")
    for n in range(20):  # purchases that make every customer a VIP
        ingest_purchases(
            venue, f"fan-{n}", [(_days_ago(1 + i), "400.00") for i in range(5)], prefix=f"vip-{n}-"
        )

    with raw_connection() as blocker:
        # Holds the run at its last write, mid-transaction, while its worker is killed.
        blocker.execute("BEGIN")
        blocker.execute(f"LOCK TABLE {SNAPSHOT_TABLE} IN SHARE MODE")
        orphan = queue_recompute(venue=venue, mode=RunMode.FULL)
        backend = wait_for(
            lambda: _backend(database, waiting_on_lock=True), what="the run to be mid-write"
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)
        blocker.execute("ROLLBACK")
    wait_for(lambda: _backend_gone(backend), timeout=30, what="the killed worker's session")
    assert _status(orphan.pk) == RunStatus.RUNNING

    start_worker(private_redis.url)

    wait_for(lambda: _status(orphan.pk) == RunStatus.FAILED, what="the orphan to be failed")
    assert RecomputeRun.objects.get(pk=orphan.pk).error == ORPHAN_ERROR
    requeued = wait_for(
        lambda: RecomputeRun.objects.filter(
            venue=venue, pk__gt=orphan.pk, mode=RunMode.FULL, status=RunStatus.SUCCEEDED
        ).first(),
        what="the venue's work to be done again",
    )
    assert requeued.customers_processed == 20
    segments = dict(CustomerProfile.objects.filter(venue=venue).values_list("customer", "segment"))
    assert segments == dict.fromkeys(customers, "vip")


def test_runs_queued_while_the_broker_was_down_go_out_as_soon_as_it_is_back(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    venue = VenueFactory()
    ingest_purchases(venue, "guest", [(_days_ago(3), "25.00")])
    worker = start_worker(private_redis.url)
    wait_for(lambda: "ready." in worker.output(), what="the worker to be ready")

    private_redis.stop()
    run = queue_recompute(venue=venue)
    assert _status(run.pk) == RunStatus.QUEUED  # its message could not be published
    private_redis.start()

    wait_for(lambda: _status(run.pk) == RunStatus.SUCCEEDED, what="the queued run to be sent")
    assert worker.process.poll() is None  # the same worker, reconnected
    assert CustomerProfile.objects.filter(venue=venue).count() == 1


class _RolledBack(Exception):
    pass


def test_a_connection_killed_during_the_profiles_copy_is_retried_and_succeeds(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    database = connection.settings_dict["NAME"]
    venue = VenueFactory()
    customers = [
        ingest_purchases(venue, f"patron-{n}", [(_days_ago(15 + n), "45.00")]) for n in range(10)
    ]
    worker = start_worker(private_redis.url)
    holding, release = threading.Event(), threading.Event()

    def hold_a_profile_key() -> None:
        # Another transaction's uncommitted profile of a customer: the run's COPY reaches that
        # key and waits for it, mid-COPY.
        try:
            with transaction.atomic():
                make_profile(venue, "patron-3")
                holding.set()
                release.wait(timeout=120)
                raise _RolledBack
        except _RolledBack:
            pass
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_a_profile_key)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        run = queue_recompute(venue=venue, mode=RunMode.FULL)
        backend = wait_for(
            lambda: _backend(database, waiting_on_lock=True, query_prefix="COPY"),
            what="the run's COPY to wait",
        )
        with raw_connection() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    finally:
        release.set()
        holder.join(timeout=30)

    wait_for(lambda: _status(run.pk) == RunStatus.SUCCEEDED, what="the retried run to succeed")
    assert "Retry in" in worker.output()
    assert worker.process.poll() is None
    assert sorted(
        CustomerProfile.objects.filter(venue=venue).values_list("customer", flat=True)
    ) == sorted(customers)
