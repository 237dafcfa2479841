"""One recompute (and one retention purge) per venue at a time: locks that are context managers.

On PostgreSQL the lock is a session-level advisory lock, so it spans worker machines and is
released by the server when a killed worker's connection drops — a dead worker can never leave
a venue locked. It needs a session that outlives the transaction: behind a transaction-pooling
proxy (PgBouncer in transaction mode) point the workers at the database directly.

On SQLite (the embedded default: one process, tasks run in-process) a lock held by a thread
for a database gives the same guarantee, a thread standing for a session. Both are re-entrant
within their session, and neither leaves anything behind once released.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction

logger = logging.getLogger(__name__)

# Namespace the advisory-lock keys, so that one kind of lock on a venue never collides with
# another kind (or another application's) on the same id.
_RECOMPUTE = b"customer_intel.recompute:"
_RETENTION = b"customer_intel.retention:"
# PostgreSQL's "lock not available", raised when lock_timeout expires.
_LOCK_NOT_AVAILABLE = "55P03"

# The venue locks this process holds on databases without advisory locks: (database alias,
# namespace, venue) -> (holding thread, depth). An entry exists only while its lock is held.
_held: dict[tuple[str, bytes, uuid.UUID], tuple[int, int]] = {}
_held_guard = threading.Lock()


class LockNotAcquired(Exception):
    """Another recompute holds the venue's lock."""


def venue_lock_key(venue_id: uuid.UUID | str, *, namespace: bytes = _RECOMPUTE) -> int:
    """The stable signed 64-bit advisory-lock key of a venue (the same in every process)."""
    digest = hashlib.blake2b(namespace + uuid.UUID(str(venue_id)).bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def purge_lock_key(venue_id: uuid.UUID | str) -> int:
    """The advisory-lock key of a venue's retention purge."""
    return venue_lock_key(venue_id, namespace=_RETENTION)


def _has_advisory_locks(using: str) -> bool:
    return connections[using].vendor == "postgresql"


@contextmanager
def venue_lock(venue_id: uuid.UUID | str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Hold the venue's recompute lock for the block; raise `LockNotAcquired` if it is held.

    Never waits: a run that finds the venue busy is skipped rather than queued behind it.
    """
    with _session_lock(venue_id, namespace=_RECOMPUTE, using=using):
        yield


@contextmanager
def purge_lock(venue_id: uuid.UUID | str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Hold the venue's retention-purge lock for the block (one purge per venue at a time,
    while recomputes, ingestion and erasures go on); raise `LockNotAcquired` if it is held."""
    with _session_lock(venue_id, namespace=_RETENTION, using=using):
        yield


def runs_wait(venue_id: uuid.UUID | str, *, lock_timeout_ms: int | None) -> None:
    """Wait, inside the caller's transaction, until no recompute of the venue is writing, and
    keep any from starting until that transaction ends.

    The shared lock conflicts only with a run's exclusive one, so writers holding it do not
    wait for each other. With `lock_timeout_ms` every lock wait of the rest of the transaction
    is bounded (see `lock_not_available`). On SQLite (one process) the database's own write
    lock already orders the transaction after a running recompute's.
    """
    if not _has_advisory_locks(DEFAULT_DB_ALIAS):
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        if lock_timeout_ms is not None:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms}ms"])
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [venue_lock_key(venue_id)])


def lock_not_available(exc: OperationalError) -> bool:
    """Whether the error is a lock wait that ran out its `lock_timeout`."""
    return getattr(exc.__cause__, "sqlstate", None) == _LOCK_NOT_AVAILABLE


@contextmanager
def _session_lock(venue_id: uuid.UUID | str, *, namespace: bytes, using: str) -> Iterator[None]:
    if not _has_advisory_locks(using):
        with _local_lock(uuid.UUID(str(venue_id)), namespace=namespace, using=using):
            yield
        return

    key = venue_lock_key(venue_id, namespace=namespace)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    if not acquired:
        raise LockNotAcquired(f"venue {venue_id} is held by another session")
    try:
        yield
    finally:
        _pg_unlock(using, key)


@contextmanager
def venue_unlocked_write(
    venue_id: uuid.UUID | str, *, row_lock_timeout: str, using: str = DEFAULT_DB_ALIAS
) -> Iterator[bool]:
    """A short write that never holds up, nor waits behind, a run of the venue.

    Yields True inside a transaction when no run holds the venue's lock (then holding it
    shared until the transaction ends, so no run starts meanwhile), False when one does: the
    block should then write nothing. A row lock not granted within `row_lock_timeout` (e.g.
    "200ms") raises `LockNotAcquired`. What is written is a cache the next run rebuilds, so
    its commit does not wait for the write-ahead log to reach the disk.
    """
    if not _has_advisory_locks(using):
        with transaction.atomic(using=using):
            yield not _locked_elsewhere(uuid.UUID(str(venue_id)), using=using)
        return
    connection = connections[using]
    # Inside a caller's transaction the settings below would outlive this write; restore them.
    nested = connection.in_atomic_block
    try:
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                previous_timeout = None
                if nested:
                    cursor.execute("SELECT current_setting('lock_timeout')")
                    previous_timeout = cursor.fetchone()[0]
                # The shared lock conflicts only with a run's exclusive session lock.
                settings = "set_config('lock_timeout', %s, true)"
                if not nested:
                    settings += ", set_config('synchronous_commit', 'off', true)"
                cursor.execute(
                    f"SELECT pg_try_advisory_xact_lock_shared(%s), {settings}",
                    [venue_lock_key(venue_id), row_lock_timeout],
                )
                free = cursor.fetchone()[0]
            yield free
            if previous_timeout is not None:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true)", [previous_timeout]
                    )
    except OperationalError as exc:
        if not lock_not_available(exc):
            raise
        raise LockNotAcquired(f"a row of venue {venue_id} stayed locked") from exc


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


def _locked_elsewhere(venue_id: uuid.UUID, *, using: str) -> bool:
    with _held_guard:
        holder = _held.get((using, _RECOMPUTE, venue_id))
    return holder is not None and holder[0] != threading.get_ident()


@contextmanager
def _local_lock(
    venue_id: uuid.UUID, *, namespace: bytes = _RECOMPUTE, using: str = DEFAULT_DB_ALIAS
) -> Iterator[None]:
    key = (using, namespace, venue_id)
    me = threading.get_ident()
    with _held_guard:
        holder, depth = _held.get(key, (me, 0))
        if holder != me:
            raise LockNotAcquired(f"venue {venue_id} is held by another thread")
        _held[key] = (me, depth + 1)
    try:
        yield
    finally:
        with _held_guard:
            holder, depth = _held[key]
            if depth == 1:
                del _held[key]
            else:
                _held[key] = (holder, depth - 1)
