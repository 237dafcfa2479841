"""The recompute engine against real PostgreSQL: full, incremental and single-customer paths
agree with hand-computed values, runs are atomic, recorded, and serialized per venue."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.db.models import Count

from customer_intel.db.locks import venue_lock_key
from customer_intel.models import (
    CustomerFacts,
    CustomerProfile,
    PendingCustomer,
    RecomputeRun,
    RunMode,
    RunStatus,
    SegmentSnapshot,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.recompute import compute_single_customer, run_recompute
from customer_intel.services.recompute import rows as recompute_rows
from tests.factories import RunFactory, VenueFactory
from tests.recompute import scenario
from tests.recompute.scenario import AS_OF, EXPECTED, profile_fields


def _profiles(venue) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {p.customer: profile_fields(p) for p in CustomerProfile.objects.filter(venue=venue)}


def _group_by_counts(venue) -> tuple[dict[str, int], dict[str, int]]:  # type: ignore[no-untyped-def]
    profiles = CustomerProfile.objects.filter(venue=venue).order_by()
    segments = dict(profiles.values_list("segment").annotate(n=Count("id")))
    rfm = dict(profiles.values_list("rfm_segment").annotate(n=Count("id")))
    return segments, rfm


def _assert_snapshot_matches_profiles(venue) -> SegmentSnapshot:  # type: ignore[no-untyped-def]
    snapshot = SegmentSnapshot.objects.get(venue=venue)
    segments, rfm = _group_by_counts(venue)
    assert {k: v for k, v in snapshot.segment_counts.items() if v} == segments
    assert {k: v for k, v in snapshot.rfm_segment_counts.items() if v} == rfm
    assert snapshot.total_customers == CustomerProfile.objects.filter(venue=venue).count()
    return snapshot


def test_full_run_computes_every_field_as_worked_out_by_hand(scenario_venue):
    progress: list[int] = []

    run = run_recompute(
        venue=scenario_venue,
        mode=RunMode.FULL,
        as_of=AS_OF,
        progress=progress.append,
        chunk_size=2,  # smaller than the venue: the chunked walk is exercised
    )

    assert _profiles(scenario_venue) == EXPECTED
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.as_of == AS_OF
    assert run.customers_processed == len(EXPECTED)
    # Ingestion kept every customer's facts current: the run read no event but the late
    # customer's one at or before as-of.
    assert run.events_processed == 1
    assert run.started_at is not None and run.finished_at is not None
    assert run.duration_seconds is not None and run.duration_seconds >= 0
    assert progress == sorted(progress) and progress[-1] == len(EXPECTED) and len(progress) > 1
    assert not PendingCustomer.objects.filter(venue=scenario_venue).exists()
    assert all(p.as_of == AS_OF for p in CustomerProfile.objects.filter(venue=scenario_venue))

    snapshot = _assert_snapshot_matches_profiles(scenario_venue)
    assert snapshot.segment_counts == scenario.EXPECTED_SEGMENTS
    assert {k: v for k, v in snapshot.rfm_segment_counts.items() if v} == (
        scenario.EXPECTED_RFM_SEGMENTS
    )
    assert "Lost" in snapshot.rfm_segment_counts  # zeros included
    assert snapshot.as_of == AS_OF and snapshot.run_id == run.pk


def test_incremental_runs_agree_with_the_full_run(db):
    venue = VenueFactory(timezone=scenario.TIMEZONE)
    events = scenario.validated_events()
    first, rest = events[:8], events[8:]  # the VIP's history, then everyone else

    ingest_events(venue=venue, events=first)
    first_run = run_recompute(venue=venue, mode=RunMode.INCREMENTAL, as_of=AS_OF, chunk_size=2)
    assert first_run.customers_processed == 1
    assert set(_profiles(venue)) == {scenario.VIP}

    ingest_events(venue=venue, events=rest)
    second_run = run_recompute(venue=venue, mode=RunMode.INCREMENTAL, as_of=AS_OF, chunk_size=2)

    assert second_run.status == RunStatus.SUCCEEDED
    # Six customers were pending; the future-only one has no profile as of AS_OF.
    assert second_run.customers_processed == len(EXPECTED) - 1
    assert _profiles(venue) == EXPECTED
    _assert_snapshot_matches_profiles(venue)
    assert SegmentSnapshot.objects.get(venue=venue).segment_counts == scenario.EXPECTED_SEGMENTS


def test_incremental_run_updates_a_changed_customer_and_recounts_segments(scenario_venue):
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF)
    # The at-risk customer comes back: a big purchase two days before AS_OF.
    comeback = scenario.validated_events(
        [(scenario.AT_RISK, scenario.PURCHASED, "2026-06-13T12:00", "950.00", 2, "opera")],
        prefix="comeback",
    )
    ingest_events(venue=scenario_venue, events=comeback)

    run = run_recompute(venue=scenario_venue, mode=RunMode.INCREMENTAL, as_of=AS_OF)

    assert run.customers_processed == 1
    profile = CustomerProfile.objects.get(venue=scenario_venue, customer=scenario.AT_RISK)
    assert profile.total_purchases == 2
    assert str(profile.total_spent) == "1030.00"
    assert profile.days_since_last_purchase == 2
    assert profile.segment == "occasional"  # 2 purchases a year: neither vip nor regular
    snapshot = _assert_snapshot_matches_profiles(scenario_venue)
    assert snapshot.segment_counts["at_risk"] == 0
    assert snapshot.segment_counts["occasional"] == 3
    # Everyone else is untouched and still equal to the hand-computed values.
    others = {k: v for k, v in _profiles(scenario_venue).items() if k != scenario.AT_RISK}
    assert others == {k: v for k, v in EXPECTED.items() if k != scenario.AT_RISK}


def test_incremental_snapshot_counts_a_profile_stored_on_demand_since_the_last_run(
    scenario_venue,
):
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF)
    purchase = (scenario.PURCHASED, "2026-06-14T12:00", "60.00", 1, "opera")
    newcomer = scenario.validated_events(
        [(pseudonymize("scenario-newcomer"), *purchase)], prefix="newcomer"
    )
    ingest_events(venue=scenario_venue, events=newcomer)
    # A read computes and stores the newcomer before the next run: the snapshot lacks them.
    stored = compute_single_customer(
        venue=scenario_venue, customer=newcomer[0].customer, as_of=AS_OF
    )
    assert stored is not None and stored.pk is not None
    assert SegmentSnapshot.objects.get(venue=scenario_venue).total_customers == len(EXPECTED)

    run_recompute(venue=scenario_venue, mode=RunMode.INCREMENTAL, as_of=AS_OF)

    snapshot = _assert_snapshot_matches_profiles(scenario_venue)
    assert snapshot.total_customers == len(EXPECTED) + 1


def test_an_incremental_run_back_in_time_leaves_no_profile_of_later_customers(scenario_venue):
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF)
    ingest_events(
        venue=scenario_venue,
        events=scenario.validated_events(
            [(scenario.VIP, scenario.PURCHASED, "2026-06-14T12:00", "60.00", 1, "opera")],
            prefix="again",
        ),
    )

    # As of long before anyone's events: run as a full run, not only for the pending VIP, so
    # no customer keeps a profile of a later instant and the snapshot says so.
    run = run_recompute(
        venue=scenario_venue, mode=RunMode.INCREMENTAL, as_of=AS_OF - timedelta(days=3650)
    )

    assert run.mode == RunMode.FULL
    assert not CustomerProfile.objects.filter(venue=scenario_venue).exists()
    snapshot = _assert_snapshot_matches_profiles(scenario_venue)
    assert snapshot.total_customers == 0


def test_a_full_run_refreshes_the_few_stale_pending_customers_before_reading_facts(
    scenario_venue,
):
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF)  # all pending: rebuild
    ingest_events(
        venue=scenario_venue,
        events=scenario.validated_events(
            [(scenario.AT_RISK, scenario.PURCHASED, "2026-06-13T12:00", "950.00", 2, "opera")],
            prefix="comeback",
        ),
    )
    # As a bulk load that bypasses ingestion leaves it: the facts are not known to be current.
    PendingCustomer.objects.filter(venue=scenario_venue).update(facts_current=False)

    run = run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF, chunk_size=2)

    assert run.events_processed == 2 + 1  # the pending customer's events, the late cutoff
    profile = CustomerProfile.objects.get(venue=scenario_venue, customer=scenario.AT_RISK)
    assert (profile.total_purchases, str(profile.total_spent)) == (2, "1030.00")
    assert profile.preferred_event_types == ["concert", "opera"]
    assert not PendingCustomer.objects.filter(venue=scenario_venue).exists()
    _assert_snapshot_matches_profiles(scenario_venue)


def test_single_customer_path_agrees_and_stores(scenario_venue):
    for customer, expected in EXPECTED.items():
        profile = compute_single_customer(venue=scenario_venue, customer=customer, as_of=AS_OF)
        assert profile is not None and profile.pk is not None
        assert profile_fields(profile) == expected

    assert _profiles(scenario_venue) == EXPECTED
    assert (
        compute_single_customer(venue=scenario_venue, customer=scenario.FUTURE_ONLY, as_of=AS_OF)
        is None
    )
    # On-demand profiles leave the marks to the next run, which also refreshes the facts.
    assert PendingCustomer.objects.filter(venue=scenario_venue).count() == len(EXPECTED) + 1
    assert not RecomputeRun.objects.filter(venue=scenario_venue).exists()


def test_single_customer_recompute_replaces_a_stale_profile(scenario_venue):
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF - timedelta(days=30))
    stale = CustomerProfile.objects.get(venue=scenario_venue, customer=scenario.VIP)

    fresh = compute_single_customer(venue=scenario_venue, customer=scenario.VIP, as_of=AS_OF)

    assert fresh is not None and fresh.pk == stale.pk
    assert profile_fields(CustomerProfile.objects.get(pk=stale.pk)) == EXPECTED[scenario.VIP]


def test_single_customer_is_not_stored_while_a_run_holds_the_venue(scenario_venue, other_session):
    other_session.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(scenario_venue.pk)])

    profile = compute_single_customer(venue=scenario_venue, customer=scenario.DST, as_of=AS_OF)

    assert profile is not None and profile.pk is None
    assert profile_fields(profile) == EXPECTED[scenario.DST]
    assert not CustomerProfile.objects.filter(venue=scenario_venue).exists()


def test_a_failing_full_run_leaves_the_previous_profiles_and_snapshot(scenario_venue, monkeypatch):
    earlier = AS_OF - timedelta(days=1)
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=earlier)
    before = _profiles(scenario_venue)
    snapshot_before = SegmentSnapshot.objects.get(venue=scenario_venue)
    # New events leave pending marks; a failed run must not consume them.
    ingest_events(
        venue=scenario_venue,
        events=scenario.validated_events(
            [(scenario.BROWSER, scenario.PURCHASED, "2026-06-14T12:00", "10.00", 1, "")],
            prefix="late-arrival",
        ),
    )
    real_compute = recompute_rows.compute_profile
    calls = {"n": 0}

    def compute_then_fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("profile computation exploded")
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(recompute_rows, "compute_profile", compute_then_fail)

    with pytest.raises(RuntimeError, match="exploded"):
        run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF, chunk_size=2)

    assert calls["n"] == 4  # it failed mid-way, after writing a chunk
    assert _profiles(scenario_venue) == before
    snapshot = SegmentSnapshot.objects.get(venue=scenario_venue)
    assert (snapshot.as_of, snapshot.run_id) == (snapshot_before.as_of, snapshot_before.run_id)
    assert PendingCustomer.objects.filter(venue=scenario_venue, customer=scenario.BROWSER).exists()
    failed = RecomputeRun.objects.get(venue=scenario_venue, as_of=AS_OF)
    assert failed.status == RunStatus.FAILED
    assert failed.error == "RuntimeError: profile computation exploded"
    assert failed.finished_at is not None


def test_a_timezone_the_database_rejects_fails_the_run_cleanly(scenario_venue):
    scenario_venue.timezone = "Mars/Olympus_Mons"
    scenario_venue.save()

    with pytest.raises(Exception, match="time zone"):
        run_recompute(venue=scenario_venue, mode=RunMode.INCREMENTAL, as_of=AS_OF)

    run = RecomputeRun.objects.get(venue=scenario_venue)
    assert run.status == RunStatus.FAILED
    assert "Mars/Olympus_Mons" in run.error
    assert not any(customer in run.error for customer in EXPECTED)
    assert PendingCustomer.objects.filter(venue=scenario_venue).count() == len(EXPECTED) + 1
    assert not CustomerProfile.objects.filter(venue=scenario_venue).exists()


def test_a_run_finding_the_venue_locked_is_recorded_skipped(scenario_venue, other_session):
    other_session.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(scenario_venue.pk)])
    queued = RunFactory(venue=scenario_venue)

    run = run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF, run=queued)

    assert run.pk == queued.pk
    run.refresh_from_db()
    assert run.status == RunStatus.SKIPPED
    assert "another recompute" in run.error
    assert not CustomerProfile.objects.filter(venue=scenario_venue).exists()
    assert PendingCustomer.objects.filter(venue=scenario_venue).count() == len(EXPECTED) + 1

    other_session.execute("SELECT pg_advisory_unlock(%s)", [venue_lock_key(scenario_venue.pk)])
    assert run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF).status == (
        RunStatus.SUCCEEDED
    )


def test_the_lock_is_released_when_the_holding_session_dies(scenario_venue):
    settings = connection.settings_dict
    dying = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    dying.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(scenario_venue.pk)])
    backend_pid = dying.info.backend_pid
    dying.close()  # as a killed worker's socket would; the server drops its locks
    _await_backend_exit(backend_pid)

    run = run_recompute(venue=scenario_venue, mode=RunMode.INCREMENTAL, as_of=AS_OF)

    assert run.status == RunStatus.SUCCEEDED


def _await_backend_exit(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Activity statistics are a per-transaction snapshot unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} still alive after {timeout}s")


def test_an_orphaned_running_run_is_marked_failed_by_the_next_run(scenario_venue):
    orphan = RunFactory(venue=scenario_venue, running=True)
    other_venue_run = RunFactory(running=True)

    run_recompute(venue=scenario_venue, mode=RunMode.INCREMENTAL, as_of=AS_OF)

    orphan.refresh_from_db()
    other_venue_run.refresh_from_db()
    assert orphan.status == RunStatus.FAILED
    assert orphan.error == "worker died before finishing"
    assert orphan.finished_at is not None
    assert other_venue_run.status == RunStatus.RUNNING  # another venue's lock, not ours


def test_an_idle_incremental_run_succeeds_without_touching_profiles(scenario_venue):
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF)
    snapshot = SegmentSnapshot.objects.get(venue=scenario_venue)

    run = run_recompute(venue=scenario_venue, mode=RunMode.INCREMENTAL)

    assert run.status == RunStatus.SUCCEEDED and run.customers_processed == 0
    assert SegmentSnapshot.objects.get(venue=scenario_venue).run_id == snapshot.run_id
    assert _profiles(scenario_venue) == EXPECTED


def test_the_run_mode_is_validated(scenario_venue):
    with pytest.raises(ValueError, match="mode"):
        run_recompute(venue=scenario_venue, mode="everything")
    assert not RecomputeRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_single_customer_gives_up_storing_behind_a_row_lock(other_session):
    venue = VenueFactory(timezone=scenario.TIMEZONE)
    ingest_events(venue=venue, events=scenario.validated_events())
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=AS_OF - timedelta(days=1))
    profile_id = CustomerProfile.objects.get(venue=venue, customer=scenario.VIP).pk
    with other_session.transaction():
        # Another writer holds the row, as a long transaction would.
        other_session.execute(
            f"SELECT 1 FROM {CustomerProfile._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
            [profile_id],
        )
        started = time.monotonic()
        profile = compute_single_customer(venue=venue, customer=scenario.VIP, as_of=AS_OF)
        waited = time.monotonic() - started

    assert profile is not None and profile.pk is None
    assert profile_fields(profile) == EXPECTED[scenario.VIP]
    assert waited < 2.0  # the store's lock_timeout, not the other transaction, bounds it
    stored = CustomerProfile.objects.get(pk=profile_id)
    assert stored.as_of == AS_OF - timedelta(days=1)  # untouched
    # The connection is usable afterwards, with the default lock timeout back.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_time_zone_change_rebuilds_the_facts_before_the_next_run_reads_them(scenario_venue):
    run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF)
    dst = CustomerProfile.objects.get(venue=scenario_venue, customer=scenario.DST)
    assert dst.purchase_time == "morning"  # two of three purchases before noon in New York

    scenario_venue.timezone = "UTC"  # where all three fall in the afternoon
    scenario_venue.save()
    ingest_events(
        venue=scenario_venue,
        events=scenario.validated_events(
            [(scenario.DST, scenario.PURCHASED, "2026-06-14T14:00", "50.00", 1, "comedy")],
            prefix="after-move",
        ),
    )
    run = run_recompute(venue=scenario_venue, mode=RunMode.INCREMENTAL, as_of=AS_OF)

    facts = CustomerFacts.objects.get(venue=scenario_venue, customer=scenario.DST)
    # In UTC: 03:30 is the only morning; 16:30, 16:30, 15:30 and the new 14:00 are afternoons.
    assert (facts.morning_purchases, facts.afternoon_purchases) == (1, 4)
    dst = CustomerProfile.objects.get(venue=scenario_venue, customer=scenario.DST)
    assert dst.purchase_time == "afternoon"
    scenario_venue.refresh_from_db()
    assert scenario_venue.facts_timezone == "UTC"
    assert run.events_processed >= len(scenario.EVENTS)  # the rebuild read the whole log
    # The next run finds the facts in the venue's time zone and reads no event.
    assert run_recompute(venue=scenario_venue, mode=RunMode.FULL, as_of=AS_OF).events_processed == 1
