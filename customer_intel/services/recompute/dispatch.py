"""Queueing recompute runs on the broker, and recovering runs the broker never delivered.

A run is recorded `queued` in the database before its task is sent, and the task is sent only
once that row is committed. The database, not the broker, is the record of what is owed: a run
whose message was never published (broker down) or never consumed stays `queued`, and the
periodic tick sends it again, so work resumes by itself when the broker comes back.

Every message carries the run's current `task_id`; re-sending a run gives it a new one. A worker
claims a run with one conditional UPDATE on (id, task_id, status), so of several messages for
the same run exactly one does the work and the others are dropped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from customer_intel.db.locks import LockNotAcquired, venue_lock
from customer_intel.models import PendingCustomer, RecomputeRun, RunMode, RunStatus, Venue
from customer_intel.services.live_as_of import venues_behind_nightly
from customer_intel.services.recompute.publish import Message, publish, publish_all
from customer_intel.services.recompute.runs import ORPHAN_ERROR, run_recompute

logger = logging.getLogger(__name__)

# A queued run younger than this may have its message in flight; re-sending it would only add
# a duplicate message for the worker to drop.
REDISPATCH_AFTER = timedelta(minutes=2)
# A run nobody picked up for this long is given up: later ticks and the nightly run supersede it.
QUEUED_RUN_MAX_AGE = timedelta(hours=6)
# Bounds the work of one tick after a long broker outage; the rest goes on the next tick.
REDISPATCH_BATCH = 500
# A skipped full run is asked for again this many seconds later (see requeue_skipped_full_run).
SKIPPED_FULL_RETRY_SECONDS = 60
# Slack between the last nightly countdown and the visibility timeout.
COUNTDOWN_MARGIN_SECONDS = 600


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one pass of `dispatch_queued_runs` did."""

    resent: int
    given_up: int
    broker_down: bool


def nightly_spacing_seconds(*, venues: int) -> float:
    """Seconds between consecutive venues' nightly full runs.

    The configured stagger, squeezed when there are many venues so that the last countdown ends
    within the broker's visibility timeout: a worker holds a countdown message unacknowledged
    until it is due, and Redis hands a message unacknowledged for longer to a second worker.
    """
    visibility = int(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"])
    window = max(visibility - COUNTDOWN_MARGIN_SECONDS, 0)
    stagger = float(settings.FULL_RECOMPUTE_STAGGER_SECONDS)
    if venues <= 1:
        return stagger
    return min(stagger, window / (venues - 1))


# A run queued or running: its venue is being seen to. (A running run whose worker died is
# failed by `orphans_recover`, which every tick and every worker start call first.)
_LIVE = Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])


def _full_run_waiting(venue: Any) -> Exists:
    """Whether a full run of the venue is queued and not started yet: another one would only
    be skipped by the one-run-per-venue lock. (`venue` may be an OuterRef.)"""
    return Exists(
        RecomputeRun.objects.filter(venue=venue, mode=RunMode.FULL, status=RunStatus.QUEUED)
    )


def queue_recompute(
    *,
    venue: Venue,
    mode: str = RunMode.INCREMENTAL,
    as_of: datetime | None = None,
    countdown: float = 0,
    expires: float | None = None,
) -> RecomputeRun:
    """Record a `queued` run of `venue` and send its task once the row is committed.

    Never raises for an unreachable broker and never waits on it for long: the run then stays
    `queued` and `dispatch_queued_runs` sends it when the broker is back. On the embedded
    default (no broker) the task runs in-process when the transaction commits.
    """
    run = RecomputeRun.objects.create(
        venue=venue, mode=mode, as_of=as_of, status=RunStatus.QUEUED, task_id=_new_task_id()
    )
    run_id, task_id = run.pk, run.task_id
    transaction.on_commit(
        lambda: publish(run_id=run_id, task_id=task_id, countdown=countdown, expires=expires)
    )
    return run


def dispatch_queued_runs(
    *, older_than: timedelta = REDISPATCH_AFTER, now: datetime | None = None
) -> DispatchReport:
    """Re-send runs left `queued`, and give up on those queued for longer than 6 hours.

    Called by the periodic tick. A run is re-sent under a fresh task id, so a late copy of its
    earlier message is dropped by the worker. Stops at the first publish that fails: the broker
    is still down, and the next tick tries again.
    """
    now = now or timezone.now()
    given_up = RecomputeRun.objects.filter(
        status=RunStatus.QUEUED, requested_at__lt=now - QUEUED_RUN_MAX_AGE
    ).update(
        status=RunStatus.FAILED,
        finished_at=now,
        error="Not picked up by a worker within "
        f"{int(QUEUED_RUN_MAX_AGE.total_seconds() // 3600)} hours; later runs supersede it.",
    )
    if given_up:
        logger.warning("recompute_runs_given_up count=%d", given_up)

    # Nightly full runs are sent with a countdown of up to (venues - 1) x spacing seconds;
    # until that has passed their message is legitimately waiting in a worker, not lost.
    venues = Venue.objects.count()
    full_horizon = timedelta(seconds=max(venues - 1, 0) * nightly_spacing_seconds(venues=venues))
    stale = (
        RecomputeRun.objects.filter(status=RunStatus.QUEUED)
        .filter(
            Q(mode=RunMode.FULL, requested_at__lt=now - older_than - full_horizon)
            | (~Q(mode=RunMode.FULL) & Q(requested_at__lt=now - older_than))
        )
        .order_by("requested_at")
        .values_list("pk", flat=True)[:REDISPATCH_BATCH]
    )
    messages = []
    for run_id in list(stale):
        task_id = _new_task_id()
        # Conditional: a worker may have claimed the run since it was listed.
        if RecomputeRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(task_id=task_id):
            messages.append(Message(run_id=run_id, task_id=task_id))
    # A run whose new task id went unsent is still queued: the next tick re-sends it.
    resent = publish_all(messages)
    if resent:
        logger.info("recompute_runs_resent count=%d", resent)
    return DispatchReport(resent=resent, given_up=given_up, broker_down=resent < len(messages))


@dataclass(frozen=True, slots=True)
class OrphansRecovered:
    """How many orphaned runs `orphans_recover` marked failed, and the runs it queued."""

    failed: int
    queued: list[RecomputeRun]


def orphans_recover() -> OrphansRecovered:
    """Mark failed the runs a dead worker left `running`, and queue their venues' work again.

    A run is orphaned when it is `running` while its venue's lock is free: a worker claims a
    run while holding that lock and keeps it for the run's whole duration, and the server
    releases it when the worker's session ends (a killed worker, or a pool process that died
    of its task). A venue gets one run, full when a full run was orphaned.
    """
    failed = 0
    queued = []
    suspects = (
        RecomputeRun.objects.filter(status=RunStatus.RUNNING)
        .order_by("venue_id")
        .values_list("venue_id", flat=True)
        .distinct()
    )
    for venue_id in list(suspects):
        try:
            with venue_lock(venue_id):
                orphans = RecomputeRun.objects.filter(venue_id=venue_id, status=RunStatus.RUNNING)
                modes = list(orphans.values_list("mode", flat=True))
                # Conditional on the status, so a run finishing meanwhile keeps its own.
                orphans.update(
                    status=RunStatus.FAILED, error=ORPHAN_ERROR, finished_at=timezone.now()
                )
        except LockNotAcquired:
            continue  # a live run holds the venue
        if not modes:
            continue
        logger.warning("recompute_orphans_failed venue=%s runs=%d", venue_id, len(modes))
        failed += len(modes)
        mode = RunMode.FULL if RunMode.FULL in modes else RunMode.INCREMENTAL
        queued.append(queue_recompute(venue=Venue.objects.get(pk=venue_id), mode=mode))
    return OrphansRecovered(failed=failed, queued=queued)


def queue_incremental_recomputes() -> list[RecomputeRun]:
    """The periodic tick: re-send lost runs; fail orphaned runs and queue their venues again;
    heal back-dated venues (`live_as_of`); queue an incremental run for every other venue with
    customers pending and no run queued or running."""
    report = dispatch_queued_runs()
    orphaned = orphans_recover().queued
    busy = RecomputeRun.objects.filter(_LIVE, venue=OuterRef("pk"))
    healing = _queue_many(
        venues=venues_behind_nightly().exclude(Exists(busy)).order_by("pk").iterator(),
        mode=RunMode.FULL,
        stagger=0,
    )
    # Evaluated after the healing runs exist: a venue being healed is busy.
    venues = (
        Venue.objects.filter(Exists(PendingCustomer.objects.filter(venue=OuterRef("pk"))))
        .exclude(Exists(busy))
        .order_by("pk")
    )
    runs = _queue_many(venues=venues.iterator(), mode=RunMode.INCREMENTAL, stagger=0)
    logger.info(
        "incremental_tick queued=%d healing=%d orphans_requeued=%d resent=%d given_up=%d "
        "broker_down=%s",
        len(runs),
        len(healing),
        len(orphaned),
        report.resent,
        report.given_up,
        report.broker_down,
    )
    return [*orphaned, *healing, *runs]


def queue_full_recomputes() -> list[RecomputeRun]:
    """The nightly run: queue a full recompute of every venue, staggered so that venues do not
    all hit the database at once. Venues that already have a full run waiting are left alone."""
    venues = Venue.objects.exclude(_full_run_waiting(OuterRef("pk"))).order_by("pk")
    spacing = nightly_spacing_seconds(venues=Venue.objects.count())
    runs = _queue_many(venues=venues.iterator(), mode=RunMode.FULL, stagger=spacing)
    logger.info("nightly_full_queued count=%d", len(runs))
    return runs


@dataclass(frozen=True, slots=True)
class FullRunsQueued:
    """What `queue_full_recomputes_unless_waiting` did: the runs it queued, and the venues it
    left alone because a full run of theirs was already waiting."""

    queued: list[RecomputeRun]
    already_waiting: list[Venue]


def queue_full_recomputes_unless_waiting(*, venues: QuerySet[Venue]) -> FullRunsQueued:
    """Queue a full run of each of these venues now (an operator's request), except of those
    with a full run already waiting to start."""
    queued: list[RecomputeRun] = []
    already_waiting: list[Venue] = []
    for venue in Venue.objects.filter(pk__in=venues.values("pk")).annotate(
        full_run_waiting=_full_run_waiting(OuterRef("pk"))
    ):
        if venue.full_run_waiting:
            already_waiting.append(venue)
        else:
            queued.append(queue_recompute(venue=venue, mode=RunMode.FULL))
    return FullRunsQueued(queued=queued, already_waiting=already_waiting)


def run_queued_recompute(
    *, run_id: int, task_id: str, is_retry: bool = False
) -> RecomputeRun | None:
    """Run the engine for a queued run, if this message is the one that owns it.

    Claimed (and run) when the run is `queued` under this task id; on a retry after a transient
    error, also when `failed` under it; and when `running` under it with its venue free — the
    same message redelivered after its worker died mid-run, so the engine recomputes the same
    snapshot. Anything else — a finished run, a run re-sent under a newer task id, a copy of a
    message whose run is still at work elsewhere, a run that no longer exists — is dropped, and
    None is returned.
    """
    run = RecomputeRun.objects.filter(pk=run_id, task_id=task_id).select_related("venue").first()
    if run is None:
        return _dropped(run_id, "not_owner")
    if run.status != RunStatus.RUNNING:
        claimable = [RunStatus.QUEUED, RunStatus.FAILED] if is_retry else [RunStatus.QUEUED]
        return _claim_and_run(run, from_statuses=claimable)
    # A second copy of a message can arrive while the first is still at work (Redis redelivers
    # what stays unacknowledged past its visibility timeout); only a dead run leaves the
    # venue's lock free. The engine takes the same lock again, on the same session (the lock
    # is re-entrant there).
    try:
        with venue_lock(run.venue_id):
            return _claim_and_run(run, from_statuses=[RunStatus.RUNNING])
    except LockNotAcquired:
        return _dropped(run_id, "still_running_elsewhere")


def _claim_and_run(run: RecomputeRun, *, from_statuses: list[str]) -> RecomputeRun | None:
    # Claimed while holding the venue's lock, so that a run is `running` only while a live
    # worker holds that lock: a restarted worker can then tell an orphan at once
    # (`worker_recovery`). The engine takes the same lock again on this session (re-entrant).
    with ExitStack() as stack:
        # When another run holds the venue, the engine records this one skipped.
        with suppress(LockNotAcquired):
            stack.enter_context(venue_lock(run.venue_id))
        # One conditional UPDATE: of two messages racing for the run (or a message racing a
        # re-send), exactly one gets it.
        claimed = RecomputeRun.objects.filter(
            pk=run.pk, task_id=run.task_id, status__in=from_statuses
        ).update(status=RunStatus.RUNNING, started_at=timezone.now(), finished_at=None, error="")
        if not claimed:
            return _dropped(run.pk, "finished_or_claimed")
        run.refresh_from_db()
        result = run_recompute(venue=run.venue, mode=run.mode, as_of=run.as_of, run=run)
    if result.status == RunStatus.SKIPPED and result.mode == RunMode.FULL:
        requeue_skipped_full_run(run=result)
    return result


def _dropped(run_id: int, reason: str) -> None:
    logger.info("recompute_message_dropped run=%s reason=%s", run_id, reason)
    return None


def requeue_skipped_full_run(*, run: RecomputeRun) -> RecomputeRun | None:
    """Ask again, a minute later, for a full run that was skipped because another run held the
    venue — unless another full run of the venue is already queued or running.

    Without this a nightly full run that meets an incremental run would be lost for the day,
    and recency-based fields (days since purchase, segments) would go stale until the next night.
    """
    other_full = RecomputeRun.objects.filter(
        _LIVE, venue_id=run.venue_id, mode=RunMode.FULL
    ).exclude(pk=run.pk)
    if other_full.exists():
        return None
    return queue_recompute(
        venue=run.venue, mode=RunMode.FULL, as_of=run.as_of, countdown=SKIPPED_FULL_RETRY_SECONDS
    )


def _queue_many(*, venues: Iterable[Venue], mode: str, stagger: float) -> list[RecomputeRun]:
    """Queue one run per venue; venue i's task is sent `i * stagger` seconds late.

    Publishing stops at the first failure so that an outage costs one bounded wait, not one per
    venue; the unsent runs stay queued for `dispatch_queued_runs`.
    """
    runs: list[RecomputeRun] = []
    messages: list[Message] = []
    for index, venue in enumerate(venues):
        run = RecomputeRun.objects.create(
            venue=venue, mode=mode, status=RunStatus.QUEUED, task_id=_new_task_id()
        )
        runs.append(run)
        countdown = index * stagger
        # A message that waited longer than a queued run is kept is worthless: the run has been
        # given up and superseded by then.
        expires = countdown + QUEUED_RUN_MAX_AGE.total_seconds()
        messages.append(
            Message(run_id=run.pk, task_id=run.task_id, countdown=countdown, expires=expires)
        )
    transaction.on_commit(lambda: publish_all(messages))
    return runs


def _new_task_id() -> str:
    return str(uuid.uuid4())
