"""Planner statistics after bulk loads.

PostgreSQL plans from sampled statistics that autovacuum refreshes only after a while. Right
after a bulk load a table looks empty or tiny to the planner, which then walks what it thinks
are a few rows with plans that collapse on the real ones: a back-dated recompute of a freshly
imported venue (23,000 customers) took 60 s before `ANALYZE`, 0.5 s after. So whatever fills
a table in bulk analyzes it before returning, and a recompute run first analyzes the tables it
reads whose statistics are missing or stale by autovacuum's own default rule: without them the
same run still took 69 s, whether autovacuum is on (and has not reached the table yet) or off.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def tables_analyze(*, tables: Sequence[type[models.Model]]) -> None:
    """Refresh the planner statistics of these models' tables (PostgreSQL; a no-op elsewhere)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# autovacuum's defaults: a table is analyzed once 50 rows plus a tenth of it changed since the
# last ANALYZE (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor).
_CHANGED_ROWS = 50
_CHANGED_SHARE = 0.1


def stale_tables_analyze(*, tables: Sequence[type[models.Model]]) -> list[str]:
    """Analyze those of these models' tables that were never analyzed (or were emptied since,
    as TRUNCATE does) or changed by more than autovacuum's default threshold since their last
    ANALYZE; the names of the tables analyzed (PostgreSQL; nothing elsewhere)."""
    if connection.vendor != "postgresql":
        return []
    by_name = {model._meta.db_table: model for model in tables}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_class c
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.oid = ANY(%s::regclass[])
              AND (c.reltuples < 0
                   OR coalesce(s.n_mod_since_analyze, 0) > %s + %s * c.reltuples)
            ORDER BY c.relname
            """,
            [list(by_name), _CHANGED_ROWS, _CHANGED_SHARE],
        )
        stale = [name for (name,) in cursor.fetchall()]
    tables_analyze(tables=[by_name[name] for name in stale])
    return stale
