"""GET /health: no credentials needed; staff also see each venue's recompute age."""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from customer_intel.models import RunStatus
from tests.embedded import run_python
from tests.factories import RunFactory, VenueFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_anonymous_callers_get_only_the_overall_status(anonymous_client, venue):
    response = anonymous_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_members_who_are_not_staff_see_no_venues(reader_client):
    assert "venues" not in reader_client.get("/health").json()


@pytest.mark.django_db
def test_staff_see_the_age_of_each_venues_last_successful_run(staff_client, venue):
    never = VenueFactory()
    now = timezone.now()
    for finished, status in [
        (now - timedelta(minutes=10), RunStatus.SUCCEEDED),
        (now - timedelta(minutes=2), RunStatus.FAILED),  # a failure is not a success
        (now - timedelta(hours=2), RunStatus.SUCCEEDED),
    ]:
        RunFactory(venue=venue, status=status, finished_at=finished)
    venues = staff_client.get("/health").json()["venues"]
    assert venues[str(never.pk)] is None
    assert 600 <= venues[str(venue.pk)] < 660


@pytest.mark.django_db
def test_staff_see_each_venues_live_as_of_the_last_full_runs(staff_client, venue, reader_client):
    from datetime import UTC, datetime

    from customer_intel.models import RunMode

    never = VenueFactory()
    back_dated = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    now = timezone.now()
    RunFactory(
        venue=venue,
        succeeded=True,
        as_of=now - timedelta(days=1),
        finished_at=now - timedelta(days=1),
    )
    RunFactory(venue=venue, succeeded=True, as_of=back_dated, finished_at=now)
    RunFactory(venue=venue, succeeded=True, mode=RunMode.INCREMENTAL, as_of=now,
               finished_at=now + timedelta(seconds=1))  # fmt: skip

    live = staff_client.get("/health").json()["liveAsOf"]
    assert live[str(venue.pk)] == "2026-06-01T12:00:00Z"
    assert live[str(never.pk)] is None
    assert "liveAsOf" not in reader_client.get("/health").json()


@pytest.mark.django_db
def test_a_broker_that_is_down_degrades_but_still_serves(anonymous_client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_free_port()}/0"
    response = anonymous_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "down"}


@pytest.mark.django_db
def test_a_broker_that_hangs_is_given_up_on_within_a_second(anonymous_client, settings):
    # Accepts connections (the kernel's backlog) but never answers a command.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        response = anonymous_client.get("/health")
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert response.json()["broker"] == "down"
    assert elapsed < 1.0


def test_a_database_that_is_down_is_503():
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/health');"
        "print(json.dumps([r.status_code, r.json()]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:{_free_port()}/nothing",
    }
    result = run_python("-c", script, env=env, timeout=60)
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 503
    assert body["status"] == "down" and body["database"] == "down"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db
def test_a_bad_token_is_refused_rather_than_ignored(anonymous_client):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = anonymous_client.get("/health")
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401
