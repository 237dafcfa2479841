"""A run analyzes the tables it reads when their planner statistics are missing or stale,
whatever autovacuum does, and leaves fresh ones alone."""

from __future__ import annotations

import pytest
from django.db import connection

from customer_intel.db.statistics import stale_tables_analyze
from customer_intel.models import CustomerEvent, CustomerFacts, RunMode, RunStatus
from customer_intel.services.recompute import run_recompute
from tests.factories import EventFactory, VenueFactory
from tests.sessions import raw_connection

EVENTS = CustomerEvent._meta.db_table
FACTS = CustomerFacts._meta.db_table

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def never_analyzed(transactional_db):  # type: ignore[no-untyped-def]
    """Empty tables, as TRUNCATE leaves them: never analyzed. An ANALYZE by an earlier test
    updates its row count in place, which that test's rollback does not undo."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {EVENTS}, {FACTS}")


def _row_estimate(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def _changed_elsewhere(venue, count: int, batch: str) -> None:  # type: ignore[no-untyped-def]
    """`count` events written by another session, its statistics flushed as it ends."""
    with raw_connection() as other:
        other.execute(
            f"INSERT INTO {EVENTS} (venue_id, event_id, customer, type, occurred_at, quantity, "  # noqa: S608
            "event_category, channel, campaign, properties, received_at) "
            "SELECT %s, %s || n, repeat('a', 64), 'page.viewed', now(), 1, '', '', '', "
            "'{}', now() "
            "FROM generate_series(1, %s) AS n",
            [venue.pk, f"{batch}-", count],
        )
        other.execute("SELECT pg_stat_force_next_flush()")


def test_a_never_analyzed_table_is_analyzed_once_and_then_left_alone():
    venue = VenueFactory()
    EventFactory.create_batch(5, venue=venue)
    assert _row_estimate(EVENTS) < 0

    assert stale_tables_analyze(tables=[CustomerEvent]) == [EVENTS]
    assert _row_estimate(EVENTS) == 5
    assert stale_tables_analyze(tables=[CustomerEvent]) == []


def test_a_table_changed_past_autovacuums_threshold_is_analyzed_again():
    venue = VenueFactory()
    EventFactory.create_batch(5, venue=venue)
    stale_tables_analyze(tables=[CustomerEvent])
    _changed_elsewhere(venue, 40, "first")  # under 50 + 10% of 5 rows
    assert stale_tables_analyze(tables=[CustomerEvent]) == []
    _changed_elsewhere(venue, 40, "second")  # 80 changed since the last ANALYZE
    assert stale_tables_analyze(tables=[CustomerEvent]) == [EVENTS]
    assert _row_estimate(EVENTS) == 85


def test_a_run_analyzes_the_tables_it_reads_before_reading_them():
    venue = VenueFactory()
    EventFactory.create_batch(3, venue=venue)
    assert _row_estimate(EVENTS) < 0 and _row_estimate(FACTS) < 0

    run = run_recompute(venue=venue, mode=RunMode.FULL)

    assert run.status == RunStatus.SUCCEEDED
    assert _row_estimate(EVENTS) == 3
    assert _row_estimate(FACTS) >= 0
