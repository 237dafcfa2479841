"""The instant a venue's live profiles are computed for, and the rule that heals it.

A full run replaces every profile of a venue, so the as-of of its last successful full run is
the venue's *live as-of* (incremental runs move only the customers they touch). A full run as
of a past instant (`recompute --as-of`) reproduces that instant, as it should, but leaves the
live profiles back-dated: the periodic tick then sees the live as-of behind the last nightly run
and queues a full run as of now (`recompute.dispatch.queue_incremental_recomputes`).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django_celery_beat.models import PeriodicTask

from customer_intel import task_names
from customer_intel.models import RecomputeRun, RunMode, RunStatus, Venue

# The task beat sends nightly (migration 0002's schedule).
NIGHTLY_TASK = task_names.QUEUE_FULL_RECOMPUTES


def last_nightly_time() -> datetime | None:
    """When beat last sent the nightly full recompute (None before it ever did)."""
    return PeriodicTask.objects.filter(task=NIGHTLY_TASK, enabled=True).aggregate(
        last=Max("last_run_at")
    )["last"]


def with_live_as_of(venues: QuerySet[Venue]) -> QuerySet[Venue]:
    """`venues` annotated with `live_as_of` (None before any successful full run)."""
    return venues.annotate(
        live_as_of=Subquery(
            RecomputeRun.objects.filter(
                venue=OuterRef("pk"), mode=RunMode.FULL, status=RunStatus.SUCCEEDED
            )
            .order_by("-finished_at")
            .values("as_of")[:1]
        )
    )


def venues_live_as_of() -> dict[object, datetime | None]:
    """Every venue's live as-of, by venue id (for the health view and the admin)."""
    return dict(with_live_as_of(Venue.objects.order_by()).values_list("pk", "live_as_of"))


def venues_behind_nightly(*, nightly: datetime | None = None) -> QuerySet[Venue]:
    """Venues whose live profiles are older than the last nightly run should have made them.

    Healed once per nightly period: not when a full run as of now (an as-of not before the
    nightly time, or none yet) was asked for since, whatever became of it, so a venue whose
    full runs fail is not retried every tick.
    """
    nightly = nightly or last_nightly_time()
    if nightly is None:
        return Venue.objects.none()
    asked_since = RecomputeRun.objects.filter(
        venue=OuterRef("pk"), mode=RunMode.FULL, requested_at__gte=nightly
    ).filter(Q(as_of__isnull=True) | Q(as_of__gte=nightly))
    return (
        with_live_as_of(Venue.objects.all())
        .filter(live_as_of__lt=nightly)
        .exclude(Exists(asked_since))
    )
