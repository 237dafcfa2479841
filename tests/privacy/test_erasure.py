"""Erasing a customer at a venue, through the API and the command: everything the venue holds
about them goes, in one transaction, and the audit trail records it without the id."""

from __future__ import annotations

import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from customer_intel.api import erasure_views
from customer_intel.db.locks import venue_lock_key
from customer_intel.models import (
    PrivacyAction,
    PrivacyAuditEntry,
    RunMode,
    RunStatus,
    SegmentSnapshot,
    SuppressedCustomer,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.audit import Actor
from customer_intel.services.erasure import customer_erase
from customer_intel.services.recompute import run_recompute
from tests.factories import RunFactory, VenueFactory
from tests.privacy.conftest import (
    NOTHING,
    buy,
    dump_database,
    dump_tables_holding,
    held_rows,
)
from tests.sessions import raw_connection


def _url(venue, customer_id: str) -> str:  # type: ignore[no-untyped-def]
    return f"/customers/venue/{venue.pk}/{customer_id}"


def _venue_with_customers(venue):  # type: ignore[no-untyped-def]
    """alice (3 purchases) and bob (1) with profiles from a full run, then a 4th purchase of
    alice, not yet recomputed (she is pending)."""
    alice = buy(venue, "alice@example.com", 40, 30, 20)
    bob = buy(venue, "bob@example.com", 10)
    run_recompute(venue=venue, mode=RunMode.FULL)
    buy(venue, "alice@example.com", 2, prefix="later-")
    return alice, bob


@pytest.mark.django_db
def test_the_api_erases_events_facts_profile_and_pending_mark_and_uncounts_the_profile(
    venue, writer, writer_client
):
    alice, bob = _venue_with_customers(venue)
    assert held_rows(venue, alice) == {"events": 4, "facts": 1, "profiles": 1, "pending": 1}
    assert SegmentSnapshot.objects.get(venue=venue).total_customers == 2

    response = writer_client.delete(_url(venue, "alice@example.com"))

    assert response.status_code == 200, response.content
    assert response.json() == {"erased": {"events": 4, "profiles": 1}}
    assert held_rows(venue, alice) == NOTHING
    assert held_rows(venue, bob) == {"events": 1, "facts": 1, "profiles": 1, "pending": 0}
    snapshot = SegmentSnapshot.objects.get(venue=venue)
    assert snapshot.total_customers == 1
    assert sum(snapshot.rfm_segment_counts.values()) == 1
    assert writer_client.get(_url(venue, "alice@example.com")).status_code == 404
    assert not SuppressedCustomer.objects.exists()

    entry = PrivacyAuditEntry.objects.get(venue=venue)
    assert (entry.action, entry.status, entry.actor, entry.via) == (
        PrivacyAction.ERASURE,
        "succeeded",
        writer.username,
        "api",
    )
    assert (entry.events, entry.profiles, entry.customers) == (4, 1, 1)
    assert entry.finished_at is not None

    # The next runs count what is left.
    assert run_recompute(venue=venue, mode=RunMode.INCREMENTAL).status == RunStatus.SUCCEEDED
    assert SegmentSnapshot.objects.get(venue=venue).total_customers == 1
    assert run_recompute(venue=venue, mode=RunMode.FULL).status == RunStatus.SUCCEEDED
    assert SegmentSnapshot.objects.get(venue=venue).total_customers == 1


@pytest.mark.django_db
def test_a_pseudonym_names_the_customer_too_and_suppress_keeps_only_the_pseudonym(
    venue, writer_client
):
    alice, _bob = _venue_with_customers(venue)

    response = writer_client.delete(_url(venue, alice) + "?suppress=true")

    assert response.status_code == 200, response.content
    assert response.json() == {"erased": {"events": 4, "profiles": 1}}
    assert held_rows(venue, alice) == NOTHING
    assert list(SuppressedCustomer.objects.values_list("venue_id", "customer")) == [
        (venue.pk, alice)
    ]
    actions = sorted(PrivacyAuditEntry.objects.values_list("action", flat=True))
    assert actions == [PrivacyAction.ERASURE, PrivacyAction.SUPPRESSION]


@pytest.mark.django_db
def test_an_unknown_customer_is_a_404_and_nothing_is_recorded(venue, writer_client):
    _venue_with_customers(venue)

    response = writer_client.delete(_url(venue, "nobody@example.com") + "?suppress=true")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "nobody" not in response.content.decode()
    assert not PrivacyAuditEntry.objects.exists()
    assert not SuppressedCustomer.objects.exists()


@pytest.mark.django_db
def test_only_a_writer_may_erase(venue, reader_client, outsider_client, anonymous_client):
    alice, _bob = _venue_with_customers(venue)
    url = _url(venue, "alice@example.com")

    assert reader_client.delete(url).status_code == 403
    assert outsider_client.delete(url).status_code == 404
    assert anonymous_client.delete(url).status_code == 401
    assert held_rows(venue, alice)["events"] == 4
    # The reader still reads the profile on the same URL.
    assert reader_client.get(url).status_code == 200


@pytest.mark.django_db
def test_bad_parameters_are_400_naming_them_and_change_nothing(venue, writer_client):
    alice, _bob = _venue_with_customers(venue)

    bad_flag = writer_client.delete(_url(venue, "alice@example.com") + "?suppress=perhaps")
    too_long = writer_client.delete(_url(venue, "x" * 257))

    assert bad_flag.status_code == 400
    assert "suppress" in bad_flag.json()["error"]["details"]
    assert too_long.status_code == 400
    assert "customerId" in too_long.json()["error"]["details"]
    assert held_rows(venue, alice)["events"] == 4


@pytest.mark.django_db
def test_other_methods_on_the_customer_url_are_405_listing_get_and_delete(venue, writer_client):
    response = writer_client.patch(_url(venue, "alice@example.com"), {}, format="json")

    assert response.status_code == 405
    assert {"GET", "DELETE"} <= {m.strip() for m in response["Allow"].split(",")}


@pytest.mark.django_db(transaction=True)
def test_an_erasure_waits_for_a_recompute_writing_the_venue(venue, writer):
    alice, _bob = _venue_with_customers(venue)
    results: dict[str, object] = {}

    def erase() -> None:
        try:
            results["erased"] = customer_erase(
                venue=venue, customer=alice, actor=Actor.api_user(writer)
            )
        finally:
            connections.close_all()

    with raw_connection() as recompute:
        # What a running recompute holds for its whole run.
        recompute.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(venue.pk)])
        thread = threading.Thread(target=erase)
        thread.start()
        with raw_connection() as observer:
            _wait_for_advisory_wait(observer, exclude=recompute.info.backend_pid)
        assert held_rows(venue, alice)["events"] == 4  # still waiting
        recompute.execute("SELECT pg_advisory_unlock(%s)", [venue_lock_key(venue.pk)])
        thread.join(timeout=30)

    assert results["erased"].events == 4  # type: ignore[attr-defined]
    assert held_rows(venue, alice) == NOTHING


@pytest.mark.django_db(transaction=True)
def test_an_erasure_request_gives_up_with_409_when_a_recompute_keeps_the_venue(
    venue, writer_client, monkeypatch
):
    alice, _bob = _venue_with_customers(venue)
    monkeypatch.setattr(erasure_views, "LOCK_TIMEOUT_MS", 200)

    with raw_connection() as recompute:
        recompute.execute("SELECT pg_advisory_lock(%s)", [venue_lock_key(venue.pk)])
        response = writer_client.delete(_url(venue, "alice@example.com"))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "recompute_running"
    assert held_rows(venue, alice)["events"] == 4
    assert not PrivacyAuditEntry.objects.exists()


def _wait_for_advisory_wait(observer, *, exclude: int) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = observer.execute(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'advisory' AND pid <> %s",
            [exclude],
        ).fetchone()
        if row:
            return
        time.sleep(0.02)
    pytest.fail("the erasure never waited for the venue's lock")


# --- the command ------------------------------------------------------------------------------


def _erase_command(*args: str) -> str:
    out = StringIO()
    call_command("erase_customer", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_erases_at_one_venue(venue):
    alice, bob = _venue_with_customers(venue)

    output = _erase_command("alice@example.com", "--venue", str(venue.pk))

    assert "erased 4 event(s) and 1 profile(s)" in output
    assert "alice" not in output and alice not in output
    assert held_rows(venue, alice) == NOTHING
    assert held_rows(venue, bob)["events"] == 1
    entry = PrivacyAuditEntry.objects.get()
    assert (entry.action, entry.via, entry.events) == (PrivacyAction.ERASURE, "command", 4)


@pytest.mark.django_db
def test_the_command_erases_and_suppresses_across_venues(venue):
    elsewhere, untouched = VenueFactory(), VenueFactory()
    alice, _bob = _venue_with_customers(venue)
    buy(elsewhere, "alice@example.com", 5)
    buy(untouched, "carol@example.com", 5)

    output = _erase_command("alice@example.com", "--all-venues", "--suppress")

    assert output.count("later events suppressed") == 2
    assert held_rows(venue, alice) == NOTHING
    assert held_rows(elsewhere, alice) == NOTHING
    assert set(SuppressedCustomer.objects.values_list("venue_id", flat=True)) == {
        venue.pk,
        elsewhere.pk,
    }
    assert not PrivacyAuditEntry.objects.filter(venue=untouched).exists()
    assert PrivacyAuditEntry.objects.filter(action=PrivacyAction.ERASURE).count() == 2


@pytest.mark.django_db
def test_the_command_fails_for_an_unknown_customer_or_venue(venue):
    _venue_with_customers(venue)

    with pytest.raises(CommandError, match="not known"):
        _erase_command("nobody@example.com", "--venue", str(venue.pk))
    with pytest.raises(CommandError, match="not a UUID"):
        _erase_command("alice@example.com", "--venue", "nope")
    with pytest.raises(CommandError):
        _erase_command("alice@example.com")  # neither --venue nor --all-venues
    assert not PrivacyAuditEntry.objects.exists()


# --- no trace left ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_holds_no_trace_of_an_erased_customer_but_the_suppression(venue):
    alice, bob = _venue_with_customers(venue)
    carol = buy(venue, "carol@example.com", 3)
    # A failed run whose database error quoted a key.
    RunFactory(
        venue=venue,
        incremental=True,
        failed=True,
        error=f"IntegrityError: Key (venue_id, customer)=({venue.pk}, {carol}) already exists.",
    )
    assert {"customer_intel_customerevent", "customer_intel_recomputerun"} <= {
        table.removeprefix("public.") for table in dump_tables_holding(dump_database(), carol)
    }

    _erase_command("alice@example.com", "--venue", str(venue.pk), "--suppress")
    _erase_command(carol, "--venue", str(venue.pk))
    dump = dump_database()

    assert dump_tables_holding(dump, alice) == {"public.customer_intel_suppressedcustomer"}
    assert dump_tables_holding(dump, carol) == set()
    assert "public.customer_intel_customerprofile" in dump_tables_holding(dump, bob)
    for raw in ("alice@example.com", "carol@example.com"):
        assert raw not in dump
    assert pseudonymize("alice@example.com") == alice
