"""Hot lookups compiled to SQL once per process instead of on every request.

Building a queryset and compiling it costs the ORM 0.3 to 1 ms of Python per query, more than
PostgreSQL takes to answer the lookups every API request makes (the token, the profile, the
segment snapshot). A `CompiledLookup` builds its queryset once with placeholder values and
keeps what the ORM worked out: the SQL, where each value goes among the parameters, which
columns fill which model fields and annotations, and the fields' converters (JSON fields).
Each call runs the SQL with the real values and builds the instance as the queryset would.
The SQL still comes from the ORM, so it follows the models.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, models

# Placeholder values, one per parameter kind, that a compiled query's parameters are searched
# for; any value would do as long as the queryset uses it nowhere else.
PLACEHOLDERS: dict[type, Callable[[int], Any]] = {
    str: lambda i: f"\x1fplaceholder-{i}\x1f",
    int: lambda i: -7_340_000 - i,
    uuid.UUID: lambda i: uuid.UUID(int=0x5EC0_0000 + i),
}


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: dict[str, list[int]]
    field_names: list[str]  # attnames of the model's columns, in select order
    fields_end: int
    annotations: list[tuple[str, int]]
    converters: list[tuple[int, list[Callable[..., Any]], Any]]


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
            converters=[
                (position, converters, expression)
                for position, (converters, expression) in compiler.get_converters(
                    [col for col, _, _ in compiler.select]
                ).items()
            ],
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
        row = list(row)
        for position, converters, expression in compiled.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        return row, compiled
