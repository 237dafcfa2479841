"""The nightly retention purge: its beat schedule (migration 0009), and the tick that sends one
purge per venue with a retention."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from customer_intel import tasks
from tests.factories import VenueFactory
from tests.worker.conftest import broker_messages

migration = importlib.import_module("customer_intel.migrations.0010_privacy_operations")


@pytest.mark.django_db
def test_the_migration_schedules_the_purge_nightly_before_the_full_runs():
    migration.remove_retention_schedule(apps, None)
    migration.create_retention_schedule(apps, None)
    migration.create_retention_schedule(apps, None)  # idempotent

    purge = PeriodicTask.objects.get(name=migration.RETENTION_NAME)
    assert purge.task == "customer_intel.tasks.queue_retention_purges"
    assert (purge.crontab.hour, purge.crontab.minute, str(purge.crontab.timezone)) == (
        "2",
        "0",
        "UTC",
    )
    assert purge.expire_seconds == 3600
    celery_app.loader.import_default_modules()
    assert purge.task in celery_app.tasks

    migration.remove_retention_schedule(apps, None)
    assert not PeriodicTask.objects.filter(name=migration.RETENTION_NAME).exists()


@pytest.mark.django_db
def test_the_tick_sends_one_purge_per_venue_with_a_retention(private_redis, use_broker):
    use_broker(private_redis.url)
    kept = [VenueFactory(event_retention_days=days) for days in (30, 400)]
    VenueFactory()  # keeps every event

    tasks.queue_retention_purges()

    messages = broker_messages(private_redis.url)
    assert [message["task"] for message in messages] == [tasks.purge_expired_events.name] * 2
    assert sorted(message["args"][0] for message in messages) == sorted(
        str(venue.pk) for venue in kept
    )
