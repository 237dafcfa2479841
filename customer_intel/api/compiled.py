"""Hot queries compiled to SQL once per process instead of on every request.

Building a queryset and compiling it costs the ORM 0.3 to 1 ms of Python per query, more than
PostgreSQL takes to answer the lookups every API request makes (the token, the profile, the
segment snapshot, a search page). A `CompiledLookup` builds its queryset once with placeholder
values and keeps what the ORM worked out: the SQL, where each value goes among the parameters,
which columns fill which model fields and annotations, and the fields' converters (JSON
fields). Each call runs the SQL with the real values and builds the instance as the queryset
would. `CompiledShapes` does the same for queries whose filters vary, once per shape of their
values. The SQL still comes from the ORM, so it follows the models.
"""

from __future__ import annotations

import threading
import uuid
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connections, models

# Placeholder values, one per parameter type, that a compiled query's parameters are searched
# for. Each is far from any value a client sends and is changed by any conversion the ORM
# might apply (rounding, case, time zones, hashing), so a value the ORM transforms is found
# missing instead of compiled in. Date-times are aware (UTC).
_MARK = "\x1f"
PLACEHOLDERS: dict[type, Callable[[int], Any]] = {
    str: lambda i: f"{_MARK}Placeholder-{i}{_MARK}",
    int: lambda i: -7_340_000 - i,
    uuid.UUID: lambda i: uuid.UUID(int=0x5EC0_0000 + i),
    Decimal: lambda i: Decimal(f"-7340{i:03d}.123456789"),
    float: lambda i: -7_340_000.123456789 - i,
    datetime: lambda i: datetime(1901, 2, 3, 4, 5, 6, 100_000 + i, tzinfo=UTC),
}


# The conversions of a query's columns: (position, functions, expression).
Converters = list[tuple[int, list[Callable[..., Any]], Any]]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: dict[str, list[int]]
    field_names: list[str]  # attnames of the model's columns, in select order
    fields_end: int
    annotations: list[tuple[str, int]]
    converters: Converters


class CompiledLookup:
    """`build(**values)` → a queryset of one model (no select_related) limited to one row,
    compiled on first use; `first(**values)` runs it and returns the instance or None, and
    `first_row(**values)` the values of a `values_list()` queryset."""

    def __init__(
        self, model: type[models.Model], build: Callable[..., models.QuerySet], **kinds: type
    ) -> None:
        self.model = model
        self.build = build
        self.kinds = kinds
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    def _compile(self) -> _Compiled:
        placeholders = {
            name: PLACEHOLDERS[kind](i) for i, (name, kind) in enumerate(self.kinds.items())
        }
        queryset = self.build(**placeholders)
        if queryset.model is not self.model or queryset.query.select_related:
            raise TypeError(f"the lookup must select {self.model} rows without related ones")
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        positions = {
            name: [i for i, param in enumerate(params) if param == placeholder]
            for name, placeholder in placeholders.items()
        }
        missing = [name for name, found in positions.items() if not found]
        if missing:
            raise ValueError(f"the compiled query does not use {missing}")
        field_names: list[str] = []
        fields_end = 0
        if compiler.klass_info is not None:  # model instances, not values
            start, *_, last = compiler.klass_info["select_fields"]
            if start != 0:
                raise TypeError("the model's columns must come first")
            field_names = [col.target.attname for col, _, _ in compiler.select[: last + 1]]
            fields_end = last + 1
        return _Compiled(
            sql=sql,
            params=tuple(params),
            positions=positions,
            field_names=field_names,
            fields_end=fields_end,
            annotations=list(compiler.annotation_col_map.items()),
            converters=_converters(compiler),
        )

    def first(self, **values: Any) -> Any:
        """The row as a model instance (annotations as attributes), or None."""
        db = self.model.objects.db
        if connections[db].vendor != "postgresql":
            # The placeholders are found among the parameters as PostgreSQL's adapter leaves
            # them; other backends convert some first (SQLite stores a UUID as its hex text).
            # The embedded default is not where speed matters: run the queryset itself.
            return next(iter(self.build(**values)), None)
        found = self._run(db, values)
        if found is None:
            return None
        row, compiled = found
        instance = self.model.from_db(db, compiled.field_names, row[: compiled.fields_end])
        for name, position in compiled.annotations:
            setattr(instance, name, row[position])
        return instance

    def first_row(self, **values: Any) -> tuple[Any, ...] | None:
        """For a `values_list()` queryset: the row's values, or None."""
        db = self.model.objects.db
        if connections[db].vendor != "postgresql":
            return next(iter(self.build(**values)), None)
        found = self._run(db, values)
        return None if found is None else tuple(found[0])

    def _run(self, db: str, values: dict[str, Any]) -> tuple[list[Any], _Compiled] | None:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    self._compiled = self._compile()
        compiled = self._compiled
        if values.keys() != compiled.positions.keys():
            raise TypeError(f"expected {sorted(compiled.positions)}, got {sorted(values)}")
        params = list(compiled.params)
        for name, value in values.items():
            for i in compiled.positions[name]:
                params[i] = value
        connection = connections[db]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        return _converted(row, compiled.converters, connection), compiled


def _converters(compiler: Any) -> Converters:
    """The backend's and the fields' conversions of the selected columns, by position."""
    return [
        (position, converters, expression)
        for position, (converters, expression) in compiler.get_converters(
            [col for col, _, _ in compiler.select]
        ).items()
    ]


def _converted(row: tuple[Any, ...], converters: Converters, connection: Any) -> list[Any]:
    values = list(row)
    for position, functions, expression in converters:
        for function in functions:
            values[position] = function(values[position], expression, connection)
    return values


def _shape_placeholder(value: Any, i: int) -> Any:
    # Booleans have two values and no placeholder; a naive date-time would be made aware.
    if isinstance(value, datetime) and value.tzinfo is None:
        raise _NotCompilable
    make = PLACEHOLDERS.get(type(value))
    if make is None:
        raise _NotCompilable
    return make(i)


def _placeholder_like(param: Any) -> bool:
    if isinstance(param, str):
        return _MARK in param
    if isinstance(param, (int, float, Decimal)) and not isinstance(param, bool):
        return -8_000_000 < param < -7_000_000
    if isinstance(param, datetime):
        return param.year == 1901
    if isinstance(param, uuid.UUID):
        return 0x5EC0_0000 <= param.int < 0x5EC1_0000
    return False


class _NotCompilable(Exception):
    pass


def _shape_of(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_shape_of(item) for item in value))
    if isinstance(value, datetime):
        return (datetime, value.tzinfo is None)
    return type(value)


@dataclass(frozen=True, slots=True)
class _ShapeSQL:
    db: str
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, tuple[int, ...]], ...]  # (value index, its parameter positions)
    row: type  # a named tuple of the queryset's `values_list` fields
    converters: Converters


class CompiledShapes:
    """`values_list(..., named=True)` querysets built from values, compiled once per shape.

    A search builds its query from the client's filters, the page's position and the caller's
    venue: 0.5 to 0.7 ms of ORM work a page, where PostgreSQL answers in less. Queries built
    from values of the same shape (which values are given, their types, list lengths) differ
    only in those values, so each shape is built once with placeholders, compiled, and the
    placeholders' parameter positions kept; later requests fill in their own values. A shape
    whose values the ORM transforms (a hashed customer id, a decimal compared with a float
    column) cannot be compiled this way: `rows` answers None and the caller builds the query.
    PostgreSQL only: other backends convert parameters in ways the placeholders don't survive.
    """

    def __init__(self, max_shapes: int = 512) -> None:
        self.max_shapes = max_shapes
        self._shapes: dict[Any, _ShapeSQL | None] = {}
        self._lock = threading.Lock()

    def rows(
        self, key: Any, values: dict[str, Any], build: Callable[[dict[str, Any]], models.QuerySet]
    ) -> list[Any] | None:
        """The rows of `build(values)`; `key` names everything else `build` depends on.
        None when the shape cannot be compiled."""
        shape = (key, tuple((name, _shape_of(value)) for name, value in values.items()))
        if shape not in self._shapes:
            compiled = self._compile(values, build)
            with self._lock:
                if len(self._shapes) >= self.max_shapes:
                    self._shapes.clear()
                self._shapes[shape] = compiled
        compiled = self._shapes[shape]
        if compiled is None:
            return None
        flat = _flatten(values)
        params = list(compiled.params)
        for index, positions in compiled.slots:
            for position in positions:
                params[position] = flat[index]
        connection = connections[compiled.db]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        if not compiled.converters:
            return [compiled.row._make(row) for row in fetched]
        return [
            compiled.row._make(_converted(row, compiled.converters, connection)) for row in fetched
        ]

    def _compile(
        self, values: dict[str, Any], build: Callable[[dict[str, Any]], models.QuerySet]
    ) -> _ShapeSQL | None:
        counter = iter(range(1_000))
        try:
            placeholders = {
                name: _placeholders_for(value, counter) for name, value in values.items()
            }
        except _NotCompilable:
            return None
        queryset = build(placeholders)
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        flat = _flatten(placeholders)
        slots = []
        used: set[int] = set()
        for index, placeholder in enumerate(flat):
            positions = tuple(
                i
                for i, param in enumerate(params)
                if type(param) is type(placeholder) and param == placeholder
            )
            if not positions:
                return None  # transformed or unused: not safely compiled
            slots.append((index, positions))
            used.update(positions)
        if any(_placeholder_like(p) for i, p in enumerate(params) if i not in used):
            return None
        names = list(queryset._fields) if queryset._fields else None  # type: ignore[attr-defined]
        if not names:
            raise TypeError("the query must be a values_list(...) of named fields")
        return _ShapeSQL(
            db=queryset.db,
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            row=namedtuple("Row", names, rename=True),
            converters=_converters(compiler),
        )


def _placeholders_for(value: Any, counter: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_placeholders_for(item, counter) for item in value)
    return _shape_placeholder(value, next(counter))


def _flatten(values: dict[str, Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values.values():
        if isinstance(value, (list, tuple)):
            flat.extend(value)
        else:
            flat.append(value)
    return flat
