"""The venue lock: a PostgreSQL advisory lock across sessions, a process-local lock on SQLite."""

from __future__ import annotations

import threading
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


def _try_in_another_thread(venue_id: uuid.UUID, *, using: str = "default") -> bool:
    """Whether another thread (another session) gets the venue's process-local lock."""
    got: list[bool] = []

    def attempt() -> None:
        try:
            with locks._local_lock(venue_id, using=using):
                got.append(True)
        except LockNotAcquired:
            got.append(False)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return got[0]


def test_the_process_local_lock_is_exclusive_per_venue_across_threads():
    venue_id, other_venue_id = uuid.uuid4(), uuid.uuid4()

    with locks._local_lock(venue_id):
        assert _try_in_another_thread(venue_id) is False
        assert _try_in_another_thread(other_venue_id) is True
        assert _try_in_another_thread(venue_id, using="other") is True
    assert _try_in_another_thread(venue_id) is True


def test_the_process_local_lock_is_reentrant_and_leaves_nothing_behind():
    venue_id = uuid.uuid4()

    with locks._local_lock(venue_id), locks._local_lock(venue_id):
        assert _try_in_another_thread(venue_id) is False
    assert _try_in_another_thread(venue_id) is True
    assert not [key for key in locks._held if venue_id in key]


def test_a_venue_purge_lock_is_apart_from_its_recompute_lock(db):
    venue_id = uuid.uuid4()

    with locks.venue_lock(venue_id), locks.purge_lock(venue_id):
        assert locks.purge_lock_key(venue_id) != locks.venue_lock_key(venue_id)
