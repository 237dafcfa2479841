"""Fixtures for the recompute engine: the hand-computed scenario venue, and a second database
session (a real other connection, as another worker would have)."""

from __future__ import annotations

import pytest

from customer_intel.services.ingestion import ingest_events
from tests.factories import VenueFactory
from tests.recompute import scenario
from tests.sessions import raw_connection


@pytest.fixture
def scenario_venue(db):
    """The scenario's venue with all its events ingested (so its customers are pending)."""
    venue = VenueFactory(timezone=scenario.TIMEZONE)
    ingest_events(venue=venue, events=scenario.validated_events())
    return venue


@pytest.fixture
def other_session(db):
    """A separate PostgreSQL session on the test database."""
    with raw_connection() as session:
        yield session
