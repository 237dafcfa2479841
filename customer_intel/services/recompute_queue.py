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
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis.exceptions
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerOperationalError

from customer_intel.models import PendingCustomer, RecomputeRun, RunMode, RunStatus, Venue
from customer_intel.services.live_as_of import venues_behind_nightly
from customer_intel.services.locks import LockNotAcquired, venue_lock
from customer_intel.services.recompute import run_recompute

logger = logging.getLogger(__name__)

# With the broker down, whoever queues a run (an API request, the beat tick) must get an answer
# quickly: two quick reconnection attempts, then the run stays queued (a refused connection
# costs about a quarter of a second, a broker that never answers about three).
PUBLISH_RETRY_POLICY: dict[str, Any] = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# A broker that accepts connections but never answers (frozen, swapping) must not hold the
# caller either; the worker-side connections keep the settings' own options.
PUBLISH_TRANSPORT_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 1, "socket_timeout": 1}
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    BrokerOperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)

# A queued run younger than this may have its message in flight; re-sending it would only add
# a duplicate message for the worker to drop.
REDISPATCH_AFTER = timedelta(minutes=2)
# A run nobody picked up for this long is given up: later ticks and the nightly run supersede it.
QUEUED_RUN_MAX_AGE = timedelta(hours=6)
# Bounds the work of one tick after a long broker outage; the rest goes on the next tick.
REDISPATCH_BATCH = 500
# Seconds between the nightly full runs of consecutive venues (settings may override).
DEFAULT_FULL_RECOMPUTE_STAGGER_SECONDS = 60
# A skipped full run is asked for again this many seconds later (see requeue_skipped_full_run).
SKIPPED_FULL_RETRY_SECONDS = 60
# kombu's Redis default, when the settings do not say.
DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 3600
# Slack between the last nightly countdown and the visibility timeout.
COUNTDOWN_MARGIN_SECONDS = 600


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one pass of `dispatch_queued_runs` did."""

    resent: int
    given_up: int
    broker_down: bool


def full_recompute_stagger_seconds() -> int:
    """Seconds between consecutive venues' nightly full runs (`FULL_RECOMPUTE_STAGGER_SECONDS`)."""
    return int(
        getattr(settings, "FULL_RECOMPUTE_STAGGER_SECONDS", DEFAULT_FULL_RECOMPUTE_STAGGER_SECONDS)
    )


def nightly_spacing_seconds(*, venues: int) -> float:
    """Seconds between consecutive venues' nightly full runs.

    The configured stagger, squeezed when there are many venues so that the last countdown ends
    within the broker's visibility timeout: a worker holds a countdown message unacknowledged
    until it is due, and Redis hands a message unacknowledged for longer to a second worker.
    """
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    visibility = int(options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT_SECONDS))
    window = max(visibility - COUNTDOWN_MARGIN_SECONDS, 0)
    stagger = float(full_recompute_stagger_seconds())
    if venues <= 1:
        return stagger
    return min(stagger, window / (venues - 1))


def orphaned_after() -> timedelta:
    """How long a `running` run may last before it is presumed dead (its worker was killed).

    No live task outlasts the hard time limit, so a run still `running` well past it lost its
    worker; it must not keep its venue from being scheduled (the engine marks it failed on the
    venue's next run).
    """
    return timedelta(seconds=settings.RECOMPUTE_HARD_TIME_LIMIT + 60)


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
        lambda: _publish(run_id=run_id, task_id=task_id, countdown=countdown, expires=expires)
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
            messages.append(_Message(run_id=run_id, task_id=task_id))
    # A run whose new task id went unsent is still queued: the next tick re-sends it.
    resent = _publish_all(messages)
    if resent:
        logger.info("recompute_runs_resent count=%d", resent)
    return DispatchReport(resent=resent, given_up=given_up, broker_down=resent < len(messages))


def queue_incremental_recomputes() -> list[RecomputeRun]:
    """The periodic tick: re-send lost runs; heal back-dated venues (`live_as_of`); queue an
    incremental run for every other venue with customers pending and no run queued or running."""
    report = dispatch_queued_runs()
    now = timezone.now()
    busy = RecomputeRun.objects.filter(venue=OuterRef("pk")).filter(
        Q(status=RunStatus.QUEUED)
        | Q(status=RunStatus.RUNNING, started_at__isnull=True)
        | Q(status=RunStatus.RUNNING, started_at__gte=now - orphaned_after())
    )
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
        "incremental_tick queued=%d healing=%d resent=%d given_up=%d broker_down=%s",
        len(runs),
        len(healing),
        report.resent,
        report.given_up,
        report.broker_down,
    )
    return [*healing, *runs]


def queue_full_recomputes() -> list[RecomputeRun]:
    """The nightly run: queue a full recompute of every venue, staggered so that venues do not
    all hit the database at once. Venues that already have a full run queued are left alone."""
    queued_full = RecomputeRun.objects.filter(
        venue=OuterRef("pk"), mode=RunMode.FULL, status=RunStatus.QUEUED
    )
    venues = Venue.objects.exclude(Exists(queued_full)).order_by("pk")
    spacing = nightly_spacing_seconds(venues=Venue.objects.count())
    runs = _queue_many(venues=venues.iterator(), mode=RunMode.FULL, stagger=spacing)
    logger.info("nightly_full_queued count=%d", len(runs))
    return runs


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
    # venue's lock free. The engine takes the same lock again, on the same session.
    try:
        with _venue_lock_for_redelivery(run.venue_id):
            return _claim_and_run(run, from_statuses=[RunStatus.RUNNING])
    except LockNotAcquired:
        return _dropped(run_id, "still_running_elsewhere")


def _claim_and_run(run: RecomputeRun, *, from_statuses: list[str]) -> RecomputeRun | None:
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


def _venue_lock_for_redelivery(venue_id: uuid.UUID) -> AbstractContextManager[None]:
    if connection.vendor != "postgresql":
        # The embedded default runs tasks in-process: nothing is ever redelivered, and its
        # process-local lock is not re-entrant.
        return nullcontext()
    return venue_lock(venue_id)


def _dropped(run_id: int, reason: str) -> None:
    logger.info("recompute_message_dropped run=%s reason=%s", run_id, reason)
    return None


def requeue_skipped_full_run(*, run: RecomputeRun) -> RecomputeRun | None:
    """Ask again, a minute later, for a full run that was skipped because another run held the
    venue — unless another full run of the venue is already queued or running.

    Without this a nightly full run that meets an incremental run would be lost for the day,
    and recency-based fields (days since purchase, segments) would go stale until the next night.
    """
    other_full = (
        RecomputeRun.objects.filter(
            venue_id=run.venue_id,
            mode=RunMode.FULL,
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING],
        )
        .exclude(pk=run.pk)
        .exclude(status=RunStatus.RUNNING, started_at__lt=timezone.now() - orphaned_after())
    )
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
    messages: list[_Message] = []
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
            _Message(run_id=run.pk, task_id=run.task_id, countdown=countdown, expires=expires)
        )
    transaction.on_commit(lambda: _publish_all(messages))
    return runs


@dataclass(frozen=True, slots=True)
class _Message:
    run_id: int
    task_id: str
    countdown: float = 0
    expires: float | None = None


def _publish(
    *, run_id: int, task_id: str, countdown: float = 0, expires: float | None = None
) -> bool:
    """Send the run's task; False (and a warning) when the broker cannot be reached."""
    message = _Message(run_id=run_id, task_id=task_id, countdown=countdown, expires=expires)
    return _publish_all([message]) == 1


def _publish_all(messages: Sequence[_Message]) -> int:
    """Send the messages in order over one broker connection; returns how many were sent.

    Stops at the first that cannot be sent, with a warning: the broker is down, and trying the
    rest would only multiply the wait.
    """
    # Imported here: the tasks module imports this one.
    from customer_intel.tasks import recompute_venue

    if not messages:
        return 0
    if recompute_venue.app.conf.task_always_eager:
        for message in messages:
            try:
                recompute_venue.apply_async(args=[message.run_id], task_id=message.task_id)
            except Exception:
                # In-process execution (embedded default): the run row already records the
                # failure, and the request that queued the run must not fail with it.
                logger.exception("recompute_run_failed_in_process run=%s", message.run_id)
        return len(messages)
    sent = 0
    try:
        with recompute_venue.app.connection_for_write(
            transport_options=PUBLISH_TRANSPORT_OPTIONS
        ) as broker:
            for message in messages:
                options: dict[str, Any] = {
                    "task_id": message.task_id,
                    "retry": True,
                    "retry_policy": PUBLISH_RETRY_POLICY,
                }
                if message.countdown:
                    options["countdown"] = message.countdown
                if message.expires is not None:
                    options["expires"] = message.expires
                recompute_venue.apply_async(args=[message.run_id], connection=broker, **options)
                sent += 1
    except BROKER_ERRORS as exc:
        logger.warning(
            "recompute_runs_not_sent count=%d first_run=%s reason=broker_unreachable error=%s; "
            "they stay queued",
            len(messages) - sent,
            messages[sent].run_id,
            type(exc).__name__,
        )
    return sent


def _new_task_id() -> str:
    return str(uuid.uuid4())
