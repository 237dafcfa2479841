"""On the demo data: two full runs as of different days leave a history point per day with
exactly each run's `/segments` counts, and flows that sum to both runs' counts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from customer_intel.models import RunMode, RunStatus, Venue
from customer_intel.services.recompute import run_recompute
from tests.factories import MembershipFactory

END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY_ONE = END - timedelta(days=45)

pytestmark = pytest.mark.django_db


def _counts(client, venue: Venue, by: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    answer = client.get(f"/customers/venue/{venue.pk}/segments?by={by}").json()
    assert round(sum(s["percentage"] for s in answer["segments"]), 2) == 100.0
    return {s["segment"]: s["count"] for s in answer["segments"]}


@pytest.mark.parametrize("by", ["segment", "rfm"])
def test_history_and_flows_of_two_full_runs_match_the_segments_answers(by, reader, reader_client):
    call_command(
        "demo_data", "--seed", "1", "--end", END.isoformat(), "--no-recompute",
        verbosity=0, stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    venues = list(Venue.objects.filter(name__in=["Harbour Hall", "Riverside Playhouse"]))
    assert len(venues) == 2
    for venue in venues:
        MembershipFactory(venue=venue, user=reader, can_write=False)

    for venue in venues:
        first = run_recompute(venue=venue, mode=RunMode.FULL, as_of=DAY_ONE)
        first_counts = _counts(reader_client, venue, by)
        second = run_recompute(venue=venue, mode=RunMode.FULL, as_of=END)
        second_counts = _counts(reader_client, venue, by)
        assert first.status == second.status == RunStatus.SUCCEEDED
        assert first_counts != second_counts  # the audience moved in 45 days

        history = reader_client.get(
            f"/customers/venue/{venue.pk}/segments/history"
            f"?by={by}&from={DAY_ONE.date()}&to={END.date()}"
        ).json()
        assert [p["runId"] for p in history["points"]] == [first.pk, second.pk]
        for point, counts in zip(history["points"], (first_counts, second_counts), strict=True):
            assert {s["segment"]: s["count"] for s in point["segments"]} == counts
            assert point["totalCustomers"] == sum(counts.values())

        flows = reader_client.get(f"/customers/venue/{venue.pk}/segments/flows?by={by}").json()
        assert (flows["from"]["runId"], flows["to"]["runId"]) == (first.pk, second.pk)
        by_origin, by_target = Counter(), Counter()
        for flow in flows["flows"]:
            by_origin[flow["from"]] += flow["count"]
            by_target[flow["to"]] += flow["count"]
        entered = by_origin.pop(None, 0)
        assert by_origin == Counter({k: v for k, v in first_counts.items() if v})
        assert by_target == Counter({k: v for k, v in second_counts.items() if v})
        assert entered == sum(second_counts.values()) - sum(first_counts.values())
