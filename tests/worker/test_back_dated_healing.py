"""A back-dated run is healed by the next scheduled tick, through a real worker: the tick sees
the venue's live as-of behind the last nightly time and queues a full run as of now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from customer_intel import tasks
from customer_intel.models import CustomerProfile, RecomputeRun, RunMode, RunStatus
from customer_intel.services.live_as_of import (
    NIGHTLY_TASK,
    venues_behind_nightly,
    venues_live_as_of,
)
from customer_intel.services.recompute import run_recompute
from tests.factories import VenueFactory
from tests.worker.conftest import ingest_purchases, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_next_tick_replaces_a_back_dated_snapshot_with_one_as_of_now(
    private_redis, use_broker, start_worker
):
    use_broker(private_redis.url)
    venue = VenueFactory()
    now = timezone.now()
    early = ingest_purchases(venue, "early", [(now - timedelta(days=300), "60.00")])
    late = ingest_purchases(venue, "late", [(now - timedelta(days=2), "45.00")])
    back_dated = now - timedelta(days=100)
    run_recompute(venue=venue, mode=RunMode.FULL, as_of=back_dated)
    # The API now serves the state of 100 days ago: the late customer has no profile yet.
    assert set(CustomerProfile.objects.filter(venue=venue).values_list("customer", flat=True)) == {
        early
    }
    nightly = now - timedelta(hours=3)
    # The migration's schedule, or one of our own when a test before this one flushed it.
    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.get_or_create(
        task=NIGHTLY_TASK, defaults={"name": "nightly (test)", "interval": every_day}
    )
    PeriodicTask.objects.filter(task=NIGHTLY_TASK).update(last_run_at=nightly)
    assert [v.pk for v in venues_behind_nightly()] == [venue.pk]

    start_worker(private_redis.url)
    tasks.queue_incremental_recomputes.delay()  # what beat sends every 5 minutes

    healing = wait_for(
        lambda: RecomputeRun.objects.filter(
            venue=venue, mode=RunMode.FULL, status=RunStatus.SUCCEEDED, as_of__gte=nightly
        ).first(),
        what="the healing full run to succeed",
    )
    assert healing.as_of >= now
    profiles = dict(CustomerProfile.objects.filter(venue=venue).values_list("customer", "as_of"))
    assert profiles == {early: healing.as_of, late: healing.as_of}
    assert venues_live_as_of()[venue.pk] == healing.as_of
    assert list(venues_behind_nightly()) == []
