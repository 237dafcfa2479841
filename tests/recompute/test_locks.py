"""The venue lock: a PostgreSQL advisory lock across sessions, a process-local lock on SQLite."""

from __future__ import annotations

import uuid

import pytest

from customer_intel.db import locks
from customer_intel.db.locks import LockNotAcquired, venue_lock, venue_lock_key


def test_the_key_is_stable_and_distinct_per_venue():
    venue_id = uuid.UUID("0f3c5f9e-6a43-4f4f-9d0e-0c3c2b1a0a01")

    assert venue_lock_key(venue_id) == venue_lock_key(str(venue_id))
    assert venue_lock_key(venue_id) != venue_lock_key(uuid.uuid4())
    assert -(2**63) <= venue_lock_key(venue_id) < 2**63


def test_a_held_lock_refuses_another_session_and_is_released(db, other_session):
    venue_id = uuid.uuid4()
    key = venue_lock_key(venue_id)

    with venue_lock(venue_id):
        held_elsewhere = other_session.execute("SELECT pg_try_advisory_lock(%s)", [key])
        assert held_elsewhere.fetchone()[0] is False

    assert other_session.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
    with pytest.raises(LockNotAcquired), venue_lock(venue_id):
        pass  # pragma: no cover - never entered


def test_the_process_local_lock_is_exclusive_per_venue():
    venue_id, other_venue_id = uuid.uuid4(), uuid.uuid4()

    with locks._local_lock(venue_id):
        with pytest.raises(LockNotAcquired), locks._local_lock(venue_id):
            pass  # pragma: no cover - never entered
        with locks._local_lock(other_venue_id):
            pass
    with locks._local_lock(venue_id):
        pass
