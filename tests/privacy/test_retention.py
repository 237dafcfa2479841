"""Retention: events older than a venue's `event_retention_days` are deleted in short batches,
each committed on its own, and the next run leaves profiles consistent with what remains."""

from __future__ import annotations

import math
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from customer_intel import tasks
from customer_intel.db import locks
from customer_intel.models import (
    CustomerEvent,
    CustomerFacts,
    CustomerProfile,
    PendingCustomer,
    PrivacyAction,
    PrivacyAuditEntry,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
)
from customer_intel.services import facts as facts_service
from customer_intel.services import retention
from customer_intel.services.audit import Actor
from customer_intel.services.recompute import compute_single_customer, run_recompute
from customer_intel.services.recompute.dispatch import run_queued_recompute
from tests.factories import VenueFactory
from tests.privacy.conftest import buy
from tests.sessions import raw_connection

RETENTION_DAYS = 30
COMPARED = (
    "total_purchases",
    "total_spent",
    "total_tickets",
    "first_seen",
    "last_seen",
    "first_purchase_at",
    "last_purchase_at",
    "days_since_last_purchase",
    "purchase_frequency",
    "segment",
    "rfm_segment",
)


def _venue_with_history():  # type: ignore[no-untyped-def]
    """Customers whose events are all old, some old, none old; one with many old events."""
    venue = VenueFactory(event_retention_days=RETENTION_DAYS)
    customers = {
        "gone": buy(venue, "gone@example.com", 200, 120, 95),
        "mixed": buy(venue, "mixed@example.com", 400, 61, 31, 12, 3),
        "recent": buy(venue, "recent@example.com", 20, 2),
        "loyal": buy(venue, "loyal@example.com", *range(40, 80), 5),
    }
    assert run_recompute(venue=venue, mode=RunMode.FULL).status == RunStatus.SUCCEEDED
    return venue, customers


def _expired(venue, now) -> int:  # type: ignore[no-untyped-def]
    cutoff = now - timedelta(days=RETENTION_DAYS)
    return CustomerEvent.objects.filter(venue=venue, occurred_at__lt=cutoff).count()


@pytest.mark.django_db(transaction=True)
def test_a_purge_commits_batch_by_batch_and_the_next_run_leaves_profiles_consistent():
    venue, customers = _venue_with_history()
    now = timezone.now()
    expired = _expired(venue, now)
    assert expired == 3 + 3 + 40
    seen_by_another_session: list[int] = []

    with raw_connection() as observer:

        def after_batch(_deleted: int) -> None:
            # What any other client of the database sees between two batches.
            seen_by_another_session.append(
                observer.execute(
                    "SELECT count(*) FROM customer_intel_customerevent "
                    "WHERE venue_id = %s AND occurred_at < %s",
                    [venue.pk, now - timedelta(days=RETENTION_DAYS)],
                ).fetchone()[0]
            )

        result = retention.events_purge_expired(
            venue=venue, actor=Actor.schedule(), now=now, batch_size=7, on_batch=after_batch
        )

    batches = math.ceil(expired / 7)
    assert seen_by_another_session == [max(expired - 7 * n, 0) for n in range(1, batches + 1)]
    assert (result.events, result.batches) == (expired, batches)
    assert _expired(venue, now) == 0
    # Until the queued run, the customers concerned wait with stale facts.
    marks = dict(
        PendingCustomer.objects.filter(venue=venue).values_list("customer", "facts_current")
    )
    assert marks == {customers[n]: False for n in ("gone", "mixed", "loyal")}

    run = RecomputeRun.objects.get(pk=result.run_id)
    # Three customers of four: one grouped rebuild of the facts beats refreshing them.
    assert (run.mode, run.status) == (RunMode.FULL, RunStatus.QUEUED)
    done = run_queued_recompute(run_id=run.pk, task_id=run.task_id)  # as a worker would

    assert done.status == RunStatus.SUCCEEDED
    assert not CustomerProfile.objects.filter(customer=customers["gone"]).exists()
    assert not CustomerFacts.objects.filter(customer=customers["gone"]).exists()
    assert not PendingCustomer.objects.filter(venue=venue).exists()
    profiles = CustomerProfile.objects.filter(venue=venue)
    assert profiles.count() == 3
    for profile in profiles:
        fresh = compute_single_customer(
            venue=venue, customer=profile.customer, as_of=profile.as_of, store=False
        )
        assert fresh is not None
        for name in COMPARED:
            assert getattr(profile, name) == getattr(fresh, name), (profile.customer, name)
        stored_facts = facts_service.facts_read(venue=venue, customers=[profile.customer])
        from_events, _ = facts_service.facts_for_customers(
            venue=venue, customers=[profile.customer], cutoff=None
        )
        assert stored_facts == from_events
    assert SegmentSnapshot.objects.get(venue=venue).total_customers == 3


@pytest.mark.django_db(transaction=True)
def test_a_purge_concerning_few_customers_queues_an_incremental_run():
    venue, customers = _venue_with_history()
    for n in range(10):
        buy(venue, f"fan-{n}@example.com", 3)
    run_recompute(venue=venue, mode=RunMode.INCREMENTAL)

    result = retention.events_purge_expired(venue=venue, actor=Actor.schedule())
    run = RecomputeRun.objects.get(pk=result.run_id)
    done = run_queued_recompute(run_id=run.pk, task_id=run.task_id)

    assert run.mode == RunMode.INCREMENTAL  # 3 customers of 14
    assert (done.status, done.customers_processed) == (RunStatus.SUCCEEDED, 2)
    assert not CustomerProfile.objects.filter(customer=customers["gone"]).exists()
    assert CustomerProfile.objects.filter(venue=venue).count() == 13
    assert SegmentSnapshot.objects.get(venue=venue).total_customers == 13


@pytest.mark.django_db(transaction=True)
def test_the_purge_is_recorded_like_a_run_in_the_audit_trail():
    venue, _customers = _venue_with_history()

    result = retention.events_purge_expired(venue=venue, actor=Actor.schedule(), batch_size=10)

    entry = PrivacyAuditEntry.objects.get(venue=venue)
    assert entry.pk == result.entry.pk
    assert (entry.action, entry.status, entry.via) == (
        PrivacyAction.RETENTION_PURGE,
        "succeeded",
        "schedule",
    )
    assert entry.events == 46
    assert entry.started_at <= entry.finished_at
    assert entry.detail["retentionDays"] == RETENTION_DAYS
    assert entry.detail["batches"] == 5
    assert entry.detail["recomputeRun"] == result.run_id
    assert entry.detail["longestBatchSeconds"] >= 0


@pytest.mark.django_db(transaction=True)
def test_a_purge_left_running_by_a_dead_process_is_marked_failed_by_the_next():
    venue, _customers = _venue_with_history()
    dead = PrivacyAuditEntry.objects.create(
        venue=venue,
        action=PrivacyAction.RETENTION_PURGE,
        status="running",
        actor="schedule",
        via="schedule",
        events=7,
    )

    retention.events_purge_expired(venue=venue, actor=Actor.schedule())

    dead.refresh_from_db()
    assert (dead.status, dead.error) == ("failed", retention.INTERRUPTED)


@pytest.mark.django_db(transaction=True)
def test_one_purge_per_venue_at_a_time():
    venue, _customers = _venue_with_history()

    with raw_connection() as other_purge:
        other_purge.execute("SELECT pg_advisory_lock(%s)", [locks.purge_lock_key(venue.pk)])
        with pytest.raises(retention.PurgeBusy):
            retention.events_purge_expired(venue=venue, actor=Actor.schedule())

    assert _expired(venue, timezone.now()) == 46
    assert not PrivacyAuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_venue_without_retention_keeps_every_event():
    venue = VenueFactory()
    buy(venue, "old@example.com", 4000)

    assert retention.events_purge_expired(venue=venue, actor=Actor.schedule()) is None
    tasks.purge_expired_events(str(venue.pk))

    assert CustomerEvent.objects.filter(venue=venue).count() == 1
    assert not PrivacyAuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_task_and_the_command_purge_a_venue():
    venue, _customers = _venue_with_history()
    keeps_all = VenueFactory()
    buy(keeps_all, "old@example.com", 4000)

    tasks.purge_expired_events(str(venue.pk))
    assert _expired(venue, timezone.now()) == 0
    buy(venue, "late@example.com", 90)  # arrives after the purge
    out = StringIO()
    call_command("purge_expired_events", "--all-venues", "--batch-size", "2", stdout=out)

    assert "deleted 1 event(s) older than 30 days in 1 batch(es)" in out.getvalue()
    assert "keeps every event; skipped" in out.getvalue()
    assert CustomerEvent.objects.filter(venue=keeps_all).count() == 1
    assert list(
        PrivacyAuditEntry.objects.order_by("id").values_list("via", "events", "status")
    ) == [("schedule", 46, "succeeded"), ("command", 1, "succeeded")]
