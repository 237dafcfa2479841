"""Segment history, flows and run status through the API: answers, scoping, bad parameters."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customer_intel.models import RunMode, RunStatus
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import ValidatedEvent
from customer_intel.services.ingestion import ingest_events
from customer_intel.services.recompute import run_recompute

DAY_ONE = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
DAY_TWO = DAY_ONE + timedelta(days=120)


def _purchase(raw_id: str, when: datetime, n: int = 0) -> ValidatedEvent:
    return ValidatedEvent(
        event_id=f"{raw_id}-{n}",
        customer=pseudonymize(raw_id),
        type="ticket.purchased",
        occurred_at=when,
        amount=Decimal("30.00"),
        quantity=1,
    )


@pytest.fixture
def two_full_runs(venue):
    events = []
    for i in range(5):
        events += [
            _purchase(f"fan-{i}", DAY_ONE - timedelta(days=10 + 50 * k), k) for k in range(4)
        ]
    events += [_purchase(f"once-{i}", DAY_ONE - timedelta(days=30)) for i in range(3)]
    ingest_events(venue=venue, events=events)
    first = run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_ONE)
    return venue, first


def _segments(client, venue, by="segment"):  # type: ignore[no-untyped-def]
    answer = client.get(f"/customers/venue/{venue.pk}/segments?by={by}").json()
    return {s["segment"]: s["count"] for s in answer["segments"]}, answer


def test_history_has_each_runs_segments_counts(two_full_runs, reader_client):
    venue, first = two_full_runs
    first_counts, _ = _segments(reader_client, venue)
    first_rfm, _ = _segments(reader_client, venue, "rfm")
    second = run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_TWO)
    second_counts, segments_answer = _segments(reader_client, venue)

    response = reader_client.get(
        f"/customers/venue/{venue.pk}/segments/history?from=2026-01-01&to=2026-12-31"
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["venueId"] == str(venue.pk) and answer["by"] == "segment"
    assert [p["date"] for p in answer["points"]] == ["2026-05-01", "2026-08-29"]
    assert [p["runId"] for p in answer["points"]] == [first.pk, second.pk]
    for point, counts in zip(answer["points"], (first_counts, second_counts), strict=True):
        assert {s["segment"]: s["count"] for s in point["segments"]} == counts
        assert point["totalCustomers"] == sum(counts.values())
        assert round(sum(s["percentage"] for s in point["segments"]), 2) == 100.0
    assert answer["points"][1]["segments"] == segments_answer["segments"]
    assert answer["points"][0]["asOf"] == "2026-05-01T15:00:00Z"

    rfm = reader_client.get(
        f"/customers/venue/{venue.pk}/segments/history?by=rfm&from=2026-05-01&to=2026-05-01"
    ).json()
    assert {s["segment"]: s["count"] for s in rfm["points"][0]["segments"]} == first_rfm


def test_default_history_window_ends_today(two_full_runs, reader_client):
    venue, _ = two_full_runs
    answer = reader_client.get(f"/customers/venue/{venue.pk}/segments/history").json()
    assert answer["points"] == []  # the runs' as-of are months before today's 90-day window


def test_flows_sum_to_both_runs_counts(two_full_runs, reader_client):
    venue, first = two_full_runs
    first_counts, _ = _segments(reader_client, venue)
    second = run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_TWO)
    second_counts, _ = _segments(reader_client, venue)

    answer = reader_client.get(f"/customers/venue/{venue.pk}/segments/flows").json()
    assert answer["from"] == {"runId": first.pk, "asOf": "2026-05-01T15:00:00Z"}
    assert answer["to"]["runId"] == second.pk
    by_origin, by_target = Counter(), Counter()
    for flow in answer["flows"]:
        by_origin[flow["from"]] += flow["count"]
        by_target[flow["to"]] += flow["count"]
    assert by_origin == Counter({k: v for k, v in first_counts.items() if v})
    assert by_target == Counter({k: v for k, v in second_counts.items() if v})
    assert answer["totalCustomers"] == sum(second_counts.values())

    dated = reader_client.get(f"/customers/venue/{venue.pk}/segments/flows?to=2026-05-01&by=rfm")
    assert dated.status_code == 200
    assert dated.json()["from"] is None  # the venue's first full run: everyone entered
    assert {f["from"] for f in dated.json()["flows"]} == {None}


def test_flows_before_any_full_run_is_404(venue, reader_client):
    response = reader_client.get(f"/customers/venue/{venue.pk}/segments/flows")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("segments/history?by=everything", "by"),
        ("segments/history?from=yesterday", "from"),
        ("segments/history?to=2026-13-01", "to"),
        ("segments/history?from=2026-05-02&to=2026-05-01", "from"),
        ("segments/flows?by=", "by"),
        ("segments/flows?to=soon", "to"),
    ],
)
def test_bad_parameters_are_400_naming_them(venue, reader_client, path, field):
    response = reader_client.get(f"/customers/venue/{venue.pk}/{path}")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "window", ["to=0001-01-01", "to=0001-02-01&from=0001-01-01", "to=9999-12-31"]
)
def test_a_window_at_the_ends_of_the_calendar_is_an_answer(two_full_runs, reader_client, window):
    venue, _ = two_full_runs
    response = reader_client.get(f"/customers/venue/{venue.pk}/segments/history?{window}")
    assert response.status_code == 200
    assert response.json()["points"] == []  # the runs lie in 2026, outside each window


@pytest.mark.parametrize("path", ["segments/history", "segments/flows", "recompute/1"])
def test_scoped_like_every_venue_endpoint(venue, outsider_client, anonymous_client, path):
    assert outsider_client.get(f"/customers/venue/{venue.pk}/{path}").status_code == 404
    assert anonymous_client.get(f"/customers/venue/{venue.pk}/{path}").status_code == 401


def test_run_status_answers_how_the_run_went(two_full_runs, reader_client, outsider_client):
    venue, run = two_full_runs
    response = reader_client.get(f"/customers/venue/{venue.pk}/recompute/{run.pk}")
    assert response.status_code == 200
    answer = response.json()
    assert answer["runId"] == run.pk and answer["venueId"] == str(venue.pk)
    assert answer["mode"] == "full" and answer["status"] == "succeeded"
    assert answer["asOf"] == "2026-05-01T15:00:00Z" and answer["error"] is None
    assert answer["customersProcessed"] == 8
    assert answer["finishedAt"].endswith("Z")
    for run_id in ("999999", "abc", "9" * 40, "١٢"):
        assert (
            reader_client.get(f"/customers/venue/{venue.pk}/recompute/{run_id}").status_code == 404
        )


def test_recompute_answers_the_runs_true_status_and_location(venue, writer_client):
    response = writer_client.post(
        f"/customers/venue/{venue.pk}/recompute", {"mode": "full"}, format="json"
    )
    assert response.status_code == 202
    run_id = response.json()["runId"]
    assert response.json()["status"] == RunStatus.QUEUED  # the test settings queue on a broker
    assert response["Location"] == f"/customers/venue/{venue.pk}/recompute/{run_id}"
    assert writer_client.get(response["Location"]).json()["status"] == RunStatus.QUEUED
