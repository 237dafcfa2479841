"""The delivery guarantees the recompute task is declared with (see customer_intel.tasks)."""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from customer_intel import tasks


def test_the_recompute_task_is_acked_late_but_not_requeued_when_its_process_dies():
    task = tasks.recompute_venue
    assert task.acks_late is True
    assert task.reject_on_worker_lost is False
    assert task.ignore_result is True


def test_the_recompute_task_is_bounded_by_the_configured_time_limits():
    task = tasks.recompute_venue
    assert task.soft_time_limit == settings.RECOMPUTE_SOFT_TIME_LIMIT
    assert task.time_limit == settings.RECOMPUTE_HARD_TIME_LIMIT
    # A late-acked message still running past the visibility timeout would be handed out twice.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert task.time_limit < visibility


def test_the_recompute_task_retries_transient_errors_with_jittered_backoff():
    task = tasks.recompute_venue
    # psycopg's own: what the driver raises outside Django's cursor wrapper (the COPY).
    assert set(task.autoretry_for) == {
        OperationalError,
        InterfaceError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        BrokerOperationalError,
    }
    assert task.retry_backoff is True
    assert task.retry_jitter is True
    assert 0 < task.max_retries <= 10


def test_the_beat_tasks_are_registered_under_the_names_the_schedules_use():
    assert tasks.queue_incremental_recomputes.name == (
        "customer_intel.tasks.queue_incremental_recomputes"
    )
    assert tasks.queue_full_recomputes.name == "customer_intel.tasks.queue_full_recomputes"
    assert tasks.queue_incremental_recomputes.ignore_result is True
