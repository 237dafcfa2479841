"""Queueing runs: what reaches the broker, what a worker claims, and recovery of lost runs.

These run against a real Redis of the test's own (messages are read back from it) and the real
engine, without a worker: the worker tests are in test_real_worker.py.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from customer_intel.db.locks import venue_lock_key
from customer_intel.models import CustomerProfile, PendingCustomer, RecomputeRun, RunMode, RunStatus
from customer_intel.services.recompute import dispatch
from tests.factories import RunFactory, VenueFactory
from tests.sessions import raw_connection
from tests.worker.conftest import (
    broker_messages,
    ingest_purchases,
    profile_snapshot,
)

RAW_ID = "buyer-9@example.org"
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker(private_redis, use_broker) -> str:  # type: ignore[no-untyped-def]
    use_broker(private_redis.url)
    return private_redis.url


@pytest.fixture
def eager():  # type: ignore[no-untyped-def]
    """The embedded default: no broker, tasks run in-process."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def _recent_purchases(count: int = 1, amount: str = "40.00") -> list[tuple[datetime, str]]:
    now = timezone.now()
    return [(now - timedelta(days=10 + i), amount) for i in range(count)]


def _age(run: RecomputeRun, age: timedelta) -> None:
    RecomputeRun.objects.filter(pk=run.pk).update(requested_at=timezone.now() - age)


@pytest.mark.django_db
def test_a_queued_run_is_sent_once_committed_under_its_task_id(
    broker, django_capture_on_commit_callbacks
):
    venue = VenueFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = dispatch.queue_recompute(venue=venue, mode=RunMode.FULL)
        assert broker_messages(broker) == []  # nothing leaves before the commit

    for callback in callbacks:
        callback()

    assert run.status == RunStatus.QUEUED
    [message] = broker_messages(broker)
    assert message["task"] == "customer_intel.tasks.recompute_venue"
    assert message["id"] == run.task_id
    assert message["args"] == [run.pk]


@pytest.mark.django_db
def test_a_run_carries_the_time_limits_the_settings_hold_when_it_is_sent(
    broker, settings, django_capture_on_commit_callbacks
):
    settings.RECOMPUTE_SOFT_TIME_LIMIT = 300
    settings.RECOMPUTE_HARD_TIME_LIMIT = 420

    with django_capture_on_commit_callbacks(execute=True):
        dispatch.queue_recompute(venue=VenueFactory(), mode=RunMode.FULL)

    [message] = broker_messages(broker)
    assert message["timelimit"] == [420, 300]


@pytest.mark.django_db
def test_with_the_broker_down_queueing_answers_fast_and_the_run_stays_queued(
    use_broker, django_capture_on_commit_callbacks, caplog
):
    use_broker(CLOSED_PORT_BROKER)
    venue = VenueFactory()
    caplog.set_level(logging.WARNING, logger="customer_intel.services.recompute")

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        run = dispatch.queue_recompute(venue=venue)
    elapsed = time.monotonic() - started

    assert elapsed < 5
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert f"recompute_runs_not_sent count=1 first_run={run.pk} reason=broker_unreachable" in (
        caplog.text
    )


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_accepts_connections_but_never_answers_does_not_hold_the_caller(
    private_redis, use_broker
):
    use_broker(private_redis.url)
    venue = VenueFactory()
    private_redis.freeze()
    try:
        started = time.monotonic()
        run = dispatch.queue_recompute(venue=venue)
        elapsed = time.monotonic() - started
    finally:
        private_redis.thaw()

    assert elapsed < 5
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert broker_messages(private_redis.url) == []


@pytest.mark.django_db
def test_on_the_embedded_default_the_run_happens_in_process(
    eager, django_capture_on_commit_callbacks
):
    venue = VenueFactory()
    customer = ingest_purchases(venue, RAW_ID, _recent_purchases())

    with django_capture_on_commit_callbacks(execute=True):
        run = dispatch.queue_recompute(venue=venue)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.customers_processed == 1
    assert CustomerProfile.objects.get(venue=venue, customer=customer).segment == "occasional"


@pytest.mark.django_db
def test_only_the_message_carrying_the_runs_task_id_runs_it():
    venue = VenueFactory()
    ingest_purchases(venue, RAW_ID, _recent_purchases())
    run = RunFactory(venue=venue, incremental=True, task_id="current")

    stale = dispatch.run_queued_recompute(run_id=run.pk, task_id="superseded")
    run.refresh_from_db()
    assert stale is None
    assert run.status == RunStatus.QUEUED

    done = dispatch.run_queued_recompute(run_id=run.pk, task_id="current")
    assert done is not None and done.status == RunStatus.SUCCEEDED
    assert CustomerProfile.objects.filter(venue=venue).count() == 1


@pytest.mark.django_db
def test_a_finished_run_is_not_run_again_when_its_message_comes_back():
    venue = VenueFactory()
    ingest_purchases(venue, RAW_ID, _recent_purchases())
    run = RunFactory(venue=venue, task_id="t1")
    dispatch.run_queued_recompute(run_id=run.pk, task_id="t1")
    before = profile_snapshot(venue)
    run.refresh_from_db()
    finished_at = run.finished_at

    again = dispatch.run_queued_recompute(run_id=run.pk, task_id="t1")

    run.refresh_from_db()
    assert again is None
    assert run.status == RunStatus.SUCCEEDED
    assert run.finished_at == finished_at
    assert profile_snapshot(venue) == before


@pytest.mark.django_db
def test_a_run_left_running_by_a_dead_worker_is_recomputed_when_its_message_is_redelivered():
    venue = VenueFactory()
    customer = ingest_purchases(venue, RAW_ID, _recent_purchases())
    run = RunFactory(venue=venue, task_id="t1", running=True)

    done = dispatch.run_queued_recompute(run_id=run.pk, task_id="t1")

    assert done is not None and done.status == RunStatus.SUCCEEDED
    assert CustomerProfile.objects.filter(venue=venue, customer=customer).exists()


@pytest.mark.django_db(transaction=True)
def test_a_copy_of_a_message_whose_run_is_still_at_work_elsewhere_is_dropped():
    venue = VenueFactory()
    ingest_purchases(venue, RAW_ID, _recent_purchases())
    run = RunFactory(venue=venue, task_id="t1", running=True)
    with raw_connection() as live_worker_session:
        live_worker_session.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(venue.pk)])
        copy = dispatch.run_queued_recompute(run_id=run.pk, task_id="t1")

    run.refresh_from_db()
    assert copy is None
    assert run.status == RunStatus.RUNNING  # not recorded skipped under the live run's feet
    assert not CustomerProfile.objects.filter(venue=venue).exists()
    assert RecomputeRun.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_run_is_run_again_only_by_a_retry_of_its_own_message():
    venue = VenueFactory()
    ingest_purchases(venue, RAW_ID, _recent_purchases())
    run = RunFactory(venue=venue, task_id="t1", failed=True, error="db down")

    assert dispatch.run_queued_recompute(run_id=run.pk, task_id="t1") is None
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED

    retried = dispatch.run_queued_recompute(run_id=run.pk, task_id="t1", is_retry=True)
    assert retried is not None and retried.status == RunStatus.SUCCEEDED
    assert retried.error == ""


@pytest.mark.django_db
def test_a_message_for_a_run_that_no_longer_exists_is_dropped():
    assert dispatch.run_queued_recompute(run_id=987654321, task_id="t1") is None


@pytest.mark.django_db(transaction=True)
def test_a_full_run_skipped_because_the_venue_is_busy_is_asked_for_again_later(broker):
    venue = VenueFactory()
    run = RunFactory(venue=venue, task_id="t1")
    with raw_connection() as other_session:
        other_session.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(venue.pk)])
        skipped = dispatch.run_queued_recompute(run_id=run.pk, task_id="t1")

    assert skipped is not None and skipped.status == RunStatus.SKIPPED
    follow_up = RecomputeRun.objects.get(venue=venue, status=RunStatus.QUEUED)
    assert follow_up.mode == RunMode.FULL
    [message] = broker_messages(broker)
    assert message["id"] == follow_up.task_id
    eta = datetime.fromisoformat(message["eta"])
    assert eta - timezone.now() > timedelta(seconds=30)


@pytest.mark.django_db(transaction=True)
def test_a_skipped_full_run_is_not_asked_for_again_when_another_full_run_is_queued(broker):
    venue = VenueFactory()
    run = RunFactory(venue=venue, task_id="t1")
    RunFactory(venue=venue, task_id="t2")
    with raw_connection() as other_session:
        other_session.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(venue.pk)])
        dispatch.run_queued_recompute(run_id=run.pk, task_id="t1")

    assert RecomputeRun.objects.filter(venue=venue, status=RunStatus.QUEUED).count() == 1
    assert broker_messages(broker) == []


@pytest.mark.django_db(transaction=True)
def test_dispatch_resends_lost_runs_and_gives_up_on_ancient_ones(broker):
    venue = VenueFactory()
    VenueFactory()  # two venues: the second's nightly run is sent with a 60 s countdown
    fresh = dispatch.queue_recompute(venue=venue)
    lost = dispatch.queue_recompute(venue=venue)
    ancient = dispatch.queue_recompute(venue=venue)
    lost_full = dispatch.queue_recompute(venue=venue, mode=RunMode.FULL)
    waiting_full = dispatch.queue_recompute(venue=venue, mode=RunMode.FULL)
    _age(lost, timedelta(minutes=3))
    _age(ancient, timedelta(hours=7))
    # Full runs wait out the nightly countdowns (60 s here) before they are presumed lost.
    _age(lost_full, timedelta(minutes=4))
    _age(waiting_full, timedelta(minutes=2, seconds=30))
    sent_before = {message["id"] for message in broker_messages(broker)}

    report = dispatch.dispatch_queued_runs()

    assert report == dispatch.DispatchReport(resent=2, given_up=1, broker_down=False)
    for run in (fresh, lost, ancient, lost_full, waiting_full):
        run.refresh_from_db()
    assert ancient.status == RunStatus.FAILED
    assert "Not picked up" in ancient.error
    new_messages = [m for m in broker_messages(broker) if m["id"] not in sent_before]
    assert sorted((m["args"][0], m["id"]) for m in new_messages) == sorted(
        [(lost.pk, lost.task_id), (lost_full.pk, lost_full.task_id)]
    )
    assert lost.task_id not in sent_before  # re-sent under a new id: a late copy is dropped
    assert fresh.task_id in sent_before and waiting_full.task_id in sent_before


@pytest.mark.django_db(transaction=True)
def test_dispatch_stops_at_the_first_failed_publish(use_broker):
    use_broker(CLOSED_PORT_BROKER)
    venue = VenueFactory()
    runs = [RunFactory(venue=venue, incremental=True) for _ in range(3)]
    for run in runs:
        _age(run, timedelta(minutes=3))

    started = time.monotonic()
    report = dispatch.dispatch_queued_runs()

    assert time.monotonic() - started < 5
    assert report.broker_down and report.resent == 0
    assert RecomputeRun.objects.filter(status=RunStatus.QUEUED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_tick_queues_venues_with_pending_customers_and_no_live_run(broker):
    long_ago = timezone.now() - timedelta(hours=3)
    idle = VenueFactory(name="idle")
    with_queued_run = VenueFactory(name="queued")
    with_live_run = VenueFactory(name="live")
    with_dead_run = VenueFactory(name="dead")
    nothing_pending = VenueFactory(name="nothing")
    for venue in (idle, with_queued_run, with_live_run, with_dead_run):
        ingest_purchases(venue, RAW_ID, _recent_purchases())
    RunFactory(venue=with_queued_run, incremental=True, task_id="q")
    RunFactory(venue=with_live_run, running=True, started_at=long_ago)
    dead = RunFactory(venue=with_dead_run, running=True, incremental=True)

    with raw_connection() as live_worker:
        # A live run holds its venue's lock however long it has run; a dead one's is free.
        live_worker.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(with_live_run.pk)])
        runs = dispatch.queue_incremental_recomputes()

    assert sorted((run.venue.name, run.mode) for run in runs) == [
        ("dead", RunMode.INCREMENTAL),  # the orphan's work, queued again
        ("idle", RunMode.INCREMENTAL),
    ]
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert RecomputeRun.objects.get(venue=with_live_run).status == RunStatus.RUNNING
    assert sorted(m["id"] for m in broker_messages(broker)) == sorted(r.task_id for r in runs)
    assert not RecomputeRun.objects.filter(venue=nothing_pending).exists()


@pytest.mark.django_db(transaction=True)
def test_the_nightly_run_queues_every_venue_staggered(broker, settings):
    settings.FULL_RECOMPUTE_STAGGER_SECONDS = 45
    venues = [VenueFactory() for _ in range(3)]
    already = VenueFactory()
    RunFactory(venue=already, task_id="waiting")
    before = datetime.now(UTC)

    runs = dispatch.queue_full_recomputes()

    assert {run.venue_id for run in runs} == {venue.pk for venue in venues}
    messages = {m["id"]: m for m in broker_messages(broker)}
    delays = sorted(
        (datetime.fromisoformat(messages[run.task_id]["eta"]) - before).total_seconds()
        if messages[run.task_id]["eta"]
        else 0.0
        for run in runs
    )
    assert delays[0] < 5
    assert 45 <= delays[1] < 50
    assert 90 <= delays[2] < 95
    for message in messages.values():
        expires = datetime.fromisoformat(message["expires"])
        assert timedelta(hours=5, minutes=59) < expires - before < timedelta(hours=6, minutes=3)


@pytest.mark.parametrize(
    ("venues", "visibility_timeout", "spacing"),
    [
        (1, 3120, 60.0),
        (40, 3120, 60.0),
        (100, 3120, 2520 / 99),  # 100 venues x 60 s would outlast the visibility timeout
        (21, 1200, 30.0),
        (5, 500, 0.0),
    ],
)
def test_nightly_countdowns_stay_within_the_brokers_visibility_timeout(
    settings, venues, visibility_timeout, spacing
):
    settings.FULL_RECOMPUTE_STAGGER_SECONDS = 60
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": visibility_timeout}

    assert dispatch.nightly_spacing_seconds(venues=venues) == pytest.approx(spacing)


@pytest.mark.django_db(transaction=True)
def test_the_nightly_run_with_the_broker_down_tries_once_and_leaves_every_run_queued(use_broker):
    use_broker(CLOSED_PORT_BROKER)
    for _ in range(4):
        VenueFactory()

    started = time.monotonic()
    runs = dispatch.queue_full_recomputes()

    assert time.monotonic() - started < 5
    assert len(runs) == 4
    assert RecomputeRun.objects.filter(status=RunStatus.QUEUED).count() == 4


@pytest.mark.django_db
def test_a_run_claimed_from_the_queue_consumes_the_pending_marks():
    venue = VenueFactory()
    ingest_purchases(venue, RAW_ID, _recent_purchases())
    assert PendingCustomer.objects.filter(venue=venue).count() == 1
    run = RunFactory(venue=venue, incremental=True, task_id="t")

    dispatch.run_queued_recompute(run_id=run.pk, task_id="t")

    assert not PendingCustomer.objects.filter(venue=venue).exists()
    # The engine's own bookkeeping is intact after the claim.
    run.refresh_from_db()
    assert run.started_at is not None and run.finished_at is not None
    assert run.customers_processed == 1
