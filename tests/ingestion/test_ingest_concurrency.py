"""Two processes posting overlapping batches at once: each event stored once, no error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from customer_intel.models import CustomerEvent, CustomerFacts, PendingCustomer
from customer_intel.services.recompute import rebuild_facts
from tests.factories import token_for

ROOT = Path(__file__).resolve().parents[2]


def _start_client(venue_id: str, token: str, first: int, count: int, *extra: str):
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}"
        ),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.ingestion.concurrent_client", venue_id, token,
         str(first), str(count), *extra],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "ready"
    return process


def _facts(venue) -> dict[str, tuple]:  # type: ignore[no-untyped-def, type-arg]
    fields = [f.name for f in CustomerFacts._meta.concrete_fields]
    fields = [name for name in fields if name not in {"id", "venue", "refreshed_at"}]
    return {row[0]: row for row in CustomerFacts.objects.filter(venue=venue).values_list(*fields)}


def _assert_facts_equal_a_rebuild(venue) -> None:  # type: ignore[no-untyped-def]
    """Both transactions folded their events into the same customers' facts: nothing lost."""
    kept = _facts(venue)
    rebuild_facts(venue=venue)
    assert kept == _facts(venue)
    assert all(PendingCustomer.objects.filter(venue=venue).values_list("facts_current", flat=True))


def _post_at_once(venue, writer, batches: list[tuple[int, int, tuple[str, ...]]]) -> list[dict]:
    token = token_for(writer)
    processes = [
        _start_client(str(venue.pk), token, first, count, *extra) for first, count, extra in batches
    ]
    try:
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        answers = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [answer["status"] for answer in answers] == [200] * len(processes), answers
    return [answer["body"] for answer in answers]


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_posted_twice_at_once_is_stored_once(venue, writer):
    # The second client sends the events in reverse order: the service's sort is what keeps
    # the two transactions from deadlocking.
    answers = _post_at_once(venue, writer, [(0, 5000, ()), (0, 5000, ("--reverse",))])

    assert sum(a["accepted"] for a in answers) == 5000
    assert sum(a["duplicates"] for a in answers) == 5000
    assert CustomerEvent.objects.filter(venue=venue).count() == 5000
    assert PendingCustomer.objects.filter(venue=venue).count() == 97
    _assert_facts_equal_a_rebuild(venue)


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_at_once_store_their_union(venue, writer):
    answers = _post_at_once(venue, writer, [(0, 4000, ()), (2000, 4000, ("--reverse",))])

    assert sum(a["accepted"] for a in answers) == 6000
    assert sum(a["duplicates"] for a in answers) == 2000
    assert CustomerEvent.objects.filter(venue=venue).count() == 6000
    _assert_facts_equal_a_rebuild(venue)
