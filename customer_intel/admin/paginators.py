"""A changelist paginator for tables too big to COUNT(*) on every page view.

The event log (millions of rows) and the profile cache (a row per customer) would make the
admin's `SELECT COUNT(*)` dominate every changelist page. This paginator:

- unfiltered, on PostgreSQL: reads the planner's row estimate from `pg_class.reltuples`
  (kept current by autovacuum/ANALYZE) and never counts — unless the estimate says the table is
  small, where an exact count is cheap and an estimate would look wrong;
- filtered: counts exactly, but under a short `statement_timeout`; a count that does not finish
  in time is replaced by the planner's estimate for the filtered query (`EXPLAIN`);
- caps the number of pages offered, because `OFFSET` deep into millions of rows is itself a
  scan: past the cap, operators narrow the list with a filter or a search.
"""

from __future__ import annotations

import json
import math
from functools import cached_property

from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.db.models import QuerySet

# Below this many (estimated) rows an unfiltered table is counted exactly.
EXACT_COUNT_BELOW_ROWS = 10_000
# How long a filtered COUNT(*) may run before the planner's estimate is used instead.
COUNT_TIMEOUT_MS = 200
# OFFSET beyond this many pages walks too many index entries for an interactive page.
MAX_PAGES = 1_000


class EstimatedCountPaginator(Paginator):
    """Paginator whose `count` is exact when cheap and a planner estimate otherwise.

    `minimum_estimate` keeps an estimate from ever claiming a result fits on one page: the
    admin loads an unsliced queryset when it believes the result is that small, so an
    underestimate must never get there. `count_is_estimated` tells whether `count` is exact.
    """

    exact_count_below_rows = EXACT_COUNT_BELOW_ROWS
    count_timeout_ms = COUNT_TIMEOUT_MS
    max_pages = MAX_PAGES

    def __init__(
        self,
        object_list: QuerySet,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
        *,
        minimum_estimate: int = 0,
    ) -> None:
        super().__init__(object_list, per_page, orphans, allow_empty_first_page)
        self.minimum_estimate = minimum_estimate
        self.count_is_estimated = False

    @property
    def _db_alias(self) -> str:
        return self.object_list.db

    @property
    def _is_postgresql(self) -> bool:
        return connections[self._db_alias].vendor == "postgresql"

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        """Rows in the list: exact, or an estimate when counting would scan a big table."""
        if not self._is_postgresql:
            return super().count
        if not self.object_list.query.where:
            estimate = self._table_estimate()
            if estimate >= self.exact_count_below_rows:
                return self._as_estimate(estimate)
        exact = self._count_within_timeout()
        if exact is not None:
            return exact
        return self._as_estimate(self._query_estimate())

    @cached_property
    def num_pages(self) -> int:  # type: ignore[override]
        """Pages offered, capped at `max_pages`."""
        return min(super().num_pages, self.max_pages)

    def _as_estimate(self, estimate: int) -> int:
        self.count_is_estimated = True
        return max(estimate, self.minimum_estimate)

    def _table_estimate(self) -> int:
        """`pg_class.reltuples` of the list's table; -1 when never vacuumed or analyzed."""
        table = self.object_list.model._meta.db_table
        with connections[self._db_alias].cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table]
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else -1

    def _count_within_timeout(self) -> int | None:
        """COUNT(*) of the filtered list, or None when it runs past `count_timeout_ms`."""
        connection = connections[self._db_alias]
        try:
            with transaction.atomic(using=self._db_alias):
                with connection.cursor() as cursor:
                    cursor.execute("SHOW statement_timeout")
                    previous_timeout = cursor.fetchone()[0]
                    # is_local=true: the setting ends with this transaction or savepoint
                    # rollback; it is put back explicitly on success below.
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [f"{self.count_timeout_ms}ms"],
                    )
                count = self.object_list.count()
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)", [previous_timeout]
                    )
                return count
        except OperationalError:
            # The statement was cancelled by the timeout; the savepoint rollback has already
            # restored the previous statement_timeout.
            return None

    def _query_estimate(self) -> int:
        """The planner's row estimate for the filtered list (EXPLAIN, not executed)."""
        plan = json.loads(self.object_list.order_by().explain(format="json"))
        # Django unwraps the one-element array PostgreSQL returns; accept either shape.
        if isinstance(plan, list):
            plan = plan[0]
        return math.ceil(plan["Plan"]["Plan Rows"])
