"""`manage.py recompute VENUE_ID [--full|--incremental] [--as-of ISO-8601]`."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from customer_intel.db.locks import venue_lock_key
from customer_intel.models import (
    CustomerEvent,
    CustomerProfile,
    EventType,
    PendingCustomer,
    RecomputeRun,
    RunMode,
    RunStatus,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.recompute import rebuild_facts
from tests.factories import VenueFactory

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _purchase(event_id: str, raw_customer: str, occurred_at: datetime, amount: str):  # type: ignore[no-untyped-def]
    return ValidatedEvent(
        event_id=event_id,
        customer=pseudonymize(raw_customer),
        type=EventType.TICKET_PURCHASED,
        occurred_at=occurred_at,
        amount=Decimal(amount),
        quantity=1,
        event_category="comedy",
    )


@pytest.fixture
def venue_with_history(db):  # type: ignore[no-untyped-def]
    venue = VenueFactory(name="Hall")
    ingest_events(
        venue=venue,
        events=[
            # 100 days before AS_OF: at risk as of then.
            _purchase("a1", "alice", AS_OF - timedelta(days=100), "70.00"),
            # 10 days before AS_OF: occasional as of then.
            _purchase("b1", "bob", AS_OF - timedelta(days=10), "30.00"),
            # After AS_OF: ignored by a run as of AS_OF.
            _purchase("b2", "bob", AS_OF + timedelta(days=5), "999.00"),
        ],
    )
    return venue


def _call(*args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("recompute", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_a_full_run_as_of_a_past_instant_measures_everything_to_it(venue_with_history):
    venue = venue_with_history

    out, err = _call(str(venue.pk), "--full", "--as-of", "2026-06-30T14:00:00+02:00")

    run = RecomputeRun.objects.get(venue=venue)
    assert (run.mode, run.status, run.as_of) == (RunMode.FULL, RunStatus.SUCCEEDED, AS_OF)
    profiles = {
        p.customer: p for p in CustomerProfile.objects.filter(venue=venue).order_by("customer")
    }
    alice, bob = profiles[pseudonymize("alice")], profiles[pseudonymize("bob")]
    assert (alice.segment, alice.days_since_last_purchase) == ("at_risk", 100)
    assert (bob.segment, bob.days_since_last_purchase, bob.total_spent) == (
        "occasional",
        10,
        Decimal("30.00"),
    )
    assert "status:     succeeded" in out
    assert "customers:  2" in out
    assert "at_risk     1" in out and "occasional  1" in out and "vip         0" in out
    assert err == ""  # not a terminal: no bar, the summary says it all
    assert "alice" not in out + err and "bob" not in out + err


def test_incremental_is_the_default_and_consumes_the_pending_marks(venue_with_history):
    venue = venue_with_history

    _call(str(venue.pk), "--as-of", "2026-06-30T12:00:00Z")

    assert RecomputeRun.objects.get(venue=venue).mode == RunMode.INCREMENTAL
    assert not PendingCustomer.objects.filter(venue=venue).exists()
    assert CustomerProfile.objects.filter(venue=venue).count() == 2


@pytest.mark.parametrize(
    ("venue_id", "message"),
    [
        ("not-a-uuid", "is not a UUID"),
        (str(uuid.UUID(int=7)), "does not exist"),
    ],
)
def test_a_bad_venue_id_is_a_clear_error(db, venue_id, message):
    with pytest.raises(CommandError, match=message):
        _call(venue_id)

    assert not RecomputeRun.objects.exists()


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("yesterday", "is not an ISO-8601 date-time"),
        ("2026-13-01T00:00:00Z", "is not an ISO-8601 date-time"),
        ("2026-06-30T12:00:00", "has no time zone"),
        ("2026-06-30", "has no time zone"),
    ],
)
def test_a_bad_as_of_is_a_clear_error_and_nothing_runs(venue_with_history, as_of, message):
    with pytest.raises(CommandError, match=message):
        _call(str(venue_with_history.pk), "--as-of", as_of)

    assert not RecomputeRun.objects.exists()
    assert not CustomerProfile.objects.exists()


def test_full_and_incremental_are_exclusive(venue_with_history):
    with pytest.raises(CommandError, match="not allowed with argument"):
        _call(str(venue_with_history.pk), "--full", "--incremental")


@pytest.mark.django_db(transaction=True)
def test_a_venue_held_by_another_run_is_skipped_and_the_command_fails(venue_with_history):
    venue = venue_with_history
    database = connection.settings_dict
    with psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        host=database["HOST"],
        port=database["PORT"],
        autocommit=True,
    ) as other_session:
        other_session.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(venue.pk)])
        with pytest.raises(CommandError, match="another run holds venue"):
            _call(str(venue.pk), "--full")

    run = RecomputeRun.objects.get(venue=venue)
    assert run.status == RunStatus.SKIPPED
    assert not CustomerProfile.objects.filter(venue=venue).exists()


def test_a_failed_run_names_the_run_and_fails_the_command(venue_with_history):
    venue = venue_with_history
    # A stored amount whose three-year lifetime value no profile column can hold makes the
    # engine fail mid-run.
    CustomerEvent.objects.filter(venue=venue, event_id="a1").update(
        amount=Decimal("999999999999.99")
    )
    rebuild_facts(venue=venue)  # as an operator does after changing events out of band

    with pytest.raises(
        CommandError, match=r"Run \d+ failed: NumericValueOutOfRange: numeric field overflow"
    ):
        _call(str(venue.pk), "--full", "--as-of", "2026-06-30T12:00:00Z")

    run = RecomputeRun.objects.get(venue=venue)
    assert run.status == RunStatus.FAILED
    assert run.error
