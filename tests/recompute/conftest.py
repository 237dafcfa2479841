"""Fixtures for the recompute engine: the hand-computed scenario venue, and a second database
session (a real other connection, as another worker would have)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from customer_intel.services.ingestion import ingest_events
from tests.factories import VenueFactory
from tests.recompute import scenario


@pytest.fixture
def scenario_venue(db):
    """The scenario's venue with all its events ingested (so its customers are pending)."""
    venue = VenueFactory(timezone=scenario.TIMEZONE)
    ingest_events(venue=venue, events=scenario.validated_events())
    return venue


@pytest.fixture
def other_session(db):
    """A separate PostgreSQL session on the test database."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as session:
        yield session
