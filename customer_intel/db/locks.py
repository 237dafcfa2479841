"""One recompute per venue at a time: a lock that is a context manager.

On PostgreSQL the lock is a session-level advisory lock, so it spans worker machines and is
released by the server when a killed worker's connection drops — a dead worker can never leave
a venue locked. It needs a session that outlives the transaction: behind a transaction-pooling
proxy (PgBouncer in transaction mode) point the workers at the database directly.

On SQLite (the embedded default: one process, tasks run in-process) a process-local lock gives
the same guarantee.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)

# Namespaces the advisory-lock keys so another feature locking on a venue id never collides.
_KEY_NAMESPACE = b"customer_intel.recompute:"

_local_locks: dict[uuid.UUID, threading.Lock] = {}
_local_locks_guard = threading.Lock()


class LockNotAcquired(Exception):
    """Another recompute holds the venue's lock."""


def venue_lock_key(venue_id: uuid.UUID | str) -> int:
    """The stable signed 64-bit advisory-lock key of a venue (the same in every process)."""
    digest = hashlib.blake2b(
        _KEY_NAMESPACE + uuid.UUID(str(venue_id)).bytes, digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def venue_lock(venue_id: uuid.UUID | str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Hold the venue's recompute lock for the block; raise `LockNotAcquired` if it is held.

    Never waits: a run that finds the venue busy is skipped rather than queued behind it.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        with _local_lock(uuid.UUID(str(venue_id))):
            yield
        return

    key = venue_lock_key(venue_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    if not acquired:
        raise LockNotAcquired(f"venue {venue_id} is being recomputed by another run")
    try:
        yield
    finally:
        _pg_unlock(using, key)


def _pg_unlock(using: str, key: int) -> None:
    connection = connections[using]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except Exception:
        # The session is unusable (inside a failed transaction, or gone): closing it is the
        # one sure way to release a session-level lock.
        logger.warning("advisory unlock failed; closing the connection to release it")
        connection.close()


@contextmanager
def _local_lock(venue_id: uuid.UUID) -> Iterator[None]:
    with _local_locks_guard:
        lock = _local_locks.setdefault(venue_id, threading.Lock())
    if not lock.acquire(blocking=False):
        raise LockNotAcquired(f"venue {venue_id} is being recomputed by another run")
    try:
        yield
    finally:
        lock.release()
