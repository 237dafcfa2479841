"""ORM expressions whose SQL differs between PostgreSQL and SQLite.

Each compiles to what its database does best (`as_postgresql`, `as_sqlite`), so a query built
from them runs unchanged on both and services never branch on the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import psycopg.sql
from django.db.models import (
    Aggregate,
    BigIntegerField,
    BooleanField,
    Expression,
    F,
    Func,
    IntegerField,
    JSONField,
)
from django.db.models.functions import TruncDate

from customer_intel.analytics.vocabulary import EPOCH_DATE

# Julian day number of the vocabulary's day zero (1970-01-01 at midnight).
_EPOCH_JULIAN_DAY = 2440587.5


def _named(expression: str | Expression) -> Expression:
    return F(expression) if isinstance(expression, str) else expression


class LocalDayNumber(Func):
    """The local date of a datetime column in `tz` (DST included), as whole days since
    1970-01-01: `vocabulary.local_day_number` computed by the database."""

    output_field = IntegerField()

    def __init__(self, expression: str | Expression, *, tz: ZoneInfo) -> None:
        super().__init__(_named(expression))
        self.tz = tz

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        column, params = compiler.compile(self.source_expressions[0])
        # The zone is a quoted literal, not a parameter: in `DISTINCT day ORDER BY day`
        # PostgreSQL wants the two expressions identical, and two bound parameters are not.
        zone = psycopg.sql.quote(self.tz.key)
        return f"(({column} AT TIME ZONE {zone})::date - DATE '{EPOCH_DATE.isoformat()}')", params

    def as_sqlite(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        # Django's local date is 'YYYY-MM-DD' text; julianday() of a date is a whole day + .5.
        local_date, params = compiler.compile(TruncDate(self.source_expressions[0], tzinfo=self.tz))
        return f"CAST(julianday({local_date}) - {_EPOCH_JULIAN_DAY} AS INTEGER)", params


class Cents(Func):
    """A two-decimal amount column as integer cents (exact: amounts never hold finer values)."""

    output_field = BigIntegerField()

    def __init__(self, expression: str | Expression) -> None:
        super().__init__(_named(expression))

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        # numeric to bigint rounds, and amount * 100 is already whole.
        return self.as_sql(
            compiler, connection, template="CAST(%(expressions)s * 100 AS BIGINT)", **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        # SQLite keeps decimals as floating point (12.34 * 100 is 1233.999...) and its CAST
        # truncates, so round first.
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND(%(expressions)s * 100) AS INTEGER)",
            **extra_context,
        )


class BytewiseKey(Func):
    """A text column compared byte by byte, for grouping and ordering on a pseudonym.

    On PostgreSQL, COLLATE "C": comparing 64-hex pseudonyms byte by byte is much cheaper than
    a locale's rules, and orders hex as Python does. SQLite compares bytes already.
    """

    def __init__(self, expression: str | Expression) -> None:
        super().__init__(_named(expression))

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        return self.as_sql(
            compiler, connection, template='%(expressions)s COLLATE "C"', **extra_context
        )

    def as_sqlite(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        return compiler.compile(self.source_expressions[0])


class TextIn(Expression):
    """`column IN (texts)`, with the texts sent as one parameter however many there are.

    PostgreSQL gets an array it reads as a relation: unlike `= ANY(array)` the planner then
    sees how few values there are and walks the index once per value (with ANY it expected
    ~8x the rows and scanned the whole event log). SQLite gets a JSON array, which also keeps
    the statement under its cap on bound parameters.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, expression: str | Expression, values: Sequence[str]) -> None:
        super().__init__()
        self.expression = _named(expression)
        self.values = list(values)

    def get_source_expressions(self) -> list[Expression]:
        return [self.expression]

    def set_source_expressions(self, exprs: list[Expression]) -> None:
        (self.expression,) = exprs

    def as_sql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        column, params = compiler.compile(self.expression)
        sql = f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608 - a compiled column
        return sql, (*params, json.dumps(self.values))

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        column, params = compiler.compile(self.expression)
        return f"{column} IN (SELECT unnest(%s::text[]))", (*params, self.values)


class JSONArrayLength(Func):
    """The number of elements of a JSON array."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        return self.as_sql(compiler, connection, function="JSON_ARRAY_LENGTH", **extra_context)


class SortedSet(Aggregate):
    """The distinct values of an integer expression as a JSON array, ascending; `[]` when no
    row qualifies."""

    output_field = JSONField()
    name = "SortedSet"

    def as_postgresql(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        value, params = compiler.compile(self.source_expressions[0])
        sql = f"JSONB_AGG(DISTINCT {value} ORDER BY {value})"
        all_params: list[Any] = [*params, *params]
        if self.filter is not None:
            condition, condition_params = compiler.compile(self.filter)
            sql += f" FILTER (WHERE {condition})"
            all_params.extend(condition_params)
        return f"COALESCE({sql}, '[]'::jsonb)", tuple(all_params)

    def as_sqlite(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        # SQLite before 3.44 has no ORDER BY inside an aggregate: the array comes back in any
        # order, and readers sort it (see facts.aggregate).
        value, params = compiler.compile(self.source_expressions[0])
        sql = f"JSON_GROUP_ARRAY(DISTINCT {value})"
        all_params: list[Any] = [*params]
        if self.filter is not None:
            condition, condition_params = compiler.compile(self.filter)
            sql += f" FILTER (WHERE {condition})"
            all_params.extend(condition_params)
        return sql, tuple(all_params)
