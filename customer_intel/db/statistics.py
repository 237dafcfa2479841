"""Planner statistics after bulk loads.

PostgreSQL plans from sampled statistics that autovacuum refreshes only after a while. Right
after a bulk load a table looks empty or tiny to the planner, which then walks what it thinks
are a few rows with plans that collapse on the real ones: a back-dated recompute of a freshly
imported venue (23,000 customers) took 60 s before `ANALYZE`, 0.5 s after. So whatever fills
a table in bulk analyzes it before returning.
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
