"""Sending run messages to the broker, by task name, never holding the caller for long.

A message carries the run's id, its current task id, and the task's time limits as the
settings hold them when it is sent. On the embedded default (no broker) the task runs
in-process instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from celery import current_app
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerOperationalError

from customer_intel import task_names

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


@dataclass(frozen=True, slots=True)
class Message:
    run_id: int
    task_id: str
    countdown: float = 0
    expires: float | None = None


def publish(
    *, run_id: int, task_id: str, countdown: float = 0, expires: float | None = None
) -> bool:
    """Send the run's task; False (and a warning) when the broker cannot be reached."""
    message = Message(run_id=run_id, task_id=task_id, countdown=countdown, expires=expires)
    return publish_all([message]) == 1


def publish_all(messages: Sequence[Message]) -> int:
    """Send the messages in order over one broker connection; returns how many were sent.

    Stops at the first that cannot be sent, with a warning: the broker is down, and trying the
    rest would only multiply the wait.
    """
    if not messages:
        return 0
    # By name through the app: importing the tasks module here would close a circle.
    recompute_venue = current_app.tasks[task_names.RECOMPUTE_VENUE]
    if current_app.conf.task_always_eager:
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
        with current_app.connection_for_write(
            transport_options=PUBLISH_TRANSPORT_OPTIONS
        ) as broker:
            for message in messages:
                options: dict[str, Any] = {
                    "task_id": message.task_id,
                    "retry": True,
                    "retry_policy": PUBLISH_RETRY_POLICY,
                    # A late-acked message still running past the broker's visibility timeout
                    # would be handed out twice: the settings keep the hard limit below it.
                    "soft_time_limit": settings.RECOMPUTE_SOFT_TIME_LIMIT,
                    "time_limit": settings.RECOMPUTE_HARD_TIME_LIMIT,
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
