"""The beat schedules migration 0002 creates: what operators see in the admin and beat runs."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app as celery_app

schedules_migration = importlib.import_module("customer_intel.migrations.0002_beat_schedules")
INCREMENTAL = "customer_intel: incremental recompute"
NIGHTLY = "customer_intel: nightly full recompute"


@pytest.fixture
def no_schedules(db):  # type: ignore[no-untyped-def]
    """Start from the state before the migration, whatever earlier tests left."""
    schedules_migration.remove_schedules(apps, None)


def test_the_migration_creates_both_schedules_pointing_at_registered_tasks(no_schedules):
    schedules_migration.create_schedules(apps, None)

    incremental = PeriodicTask.objects.get(name=INCREMENTAL)
    assert incremental.task == "customer_intel.tasks.queue_incremental_recomputes"
    assert (incremental.interval.every, incremental.interval.period) == (5, "minutes")
    assert incremental.expire_seconds == 240
    assert incremental.enabled

    nightly = PeriodicTask.objects.get(name=NIGHTLY)
    assert nightly.task == "customer_intel.tasks.queue_full_recomputes"
    crontab = nightly.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "2", "*")
    assert (crontab.day_of_month, crontab.month_of_year, str(crontab.timezone)) == ("*", "*", "UTC")
    assert nightly.expire_seconds == 3600

    # Registered when Django starts (apps.py), without asking Celery to look for them.
    assert incremental.task in celery_app.tasks
    assert nightly.task in celery_app.tasks


def test_beat_reads_the_schedules_from_the_database(no_schedules):
    schedules_migration.create_schedules(apps, None)

    scheduler = DatabaseScheduler(app=celery_app, lazy=True)
    entries = scheduler.all_as_schedule()
    # Beat only loads crontab entries due within a couple of hours, so build the nightly one
    # the way it would at 02:30.
    nightly = DatabaseScheduler.Entry(PeriodicTask.objects.get(name=NIGHTLY), app=celery_app)

    assert entries[INCREMENTAL].schedule.run_every == timedelta(minutes=5)
    assert entries[INCREMENTAL].options["expires"] == 240
    assert (nightly.schedule.hour, nightly.schedule.minute) == ({2}, {30})
    assert nightly.options["expires"] == 3600


def test_the_migration_is_idempotent_and_keeps_an_operators_edits(no_schedules):
    schedules_migration.create_schedules(apps, None)
    PeriodicTask.objects.filter(name=INCREMENTAL).update(enabled=False, expire_seconds=100)

    schedules_migration.create_schedules(apps, None)

    assert PeriodicTask.objects.filter(name__in=[INCREMENTAL, NIGHTLY]).count() == 2
    edited = PeriodicTask.objects.get(name=INCREMENTAL)
    assert (edited.enabled, edited.expire_seconds) == (False, 100)
    assert IntervalSchedule.objects.filter(every=5, period="minutes").count() == 1


def test_the_migration_reverses(no_schedules):
    schedules_migration.create_schedules(apps, None)

    schedules_migration.remove_schedules(apps, None)

    assert not PeriodicTask.objects.filter(name__in=[INCREMENTAL, NIGHTLY]).exists()
    assert not IntervalSchedule.objects.filter(every=5, period="minutes").exists()
    assert not CrontabSchedule.objects.filter(minute="30", hour="2").exists()
