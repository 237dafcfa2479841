"""Keyset (cursor) pagination over one ordering field with the row id as tie-breaker.

DRF's CursorPagination cannot page over nullable fields (a null position is compared as the
string "None" and the query fails), and several profile fields a client sorts by are null for
customers without purchases. This paginator orders `field, id` in one direction, puts nulls
last in both directions, and walks the two parts (values, then nulls) with separate
index-friendly queries, so a page deep in a million rows costs the same as the first one.

The cursor is signed: a client cannot forge positions, and a cursor made for one ordering is
refused under another.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.models import F, Model, Q, QuerySet
from django.db.models.functions import Coalesce
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from customer_intel.api.compiled import CompiledShapes

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
PAGE_SIZE_PARAM = "pageSize"
CURSOR_PARAM = "cursor"
_CURSOR_SALT = "customer_intel.api.cursor"
# How long a page's index walk may take before the filtered rows are sorted instead.
WALK_BUDGET = "30ms"
_QUERY_CANCELED = "57014"


@dataclass(frozen=True, slots=True)
class KeysetOrder:
    """Order by `field` (then `id`) ascending or descending; nulls of `field` come last."""

    field: str
    descending: bool = False
    nullable: bool = False
    # Sort the filtered rows rather than walk the field's index (see search_plan).
    sort_rows: bool = False

    @property
    def key(self) -> str:
        return ("-" if self.descending else "") + self.field


@dataclass(frozen=True, slots=True)
class _Position:
    value: Any
    id: int
    in_nulls: bool


def page_size_from(request: Request) -> int:
    """The requested page size; 400 naming `pageSize` when it is not an integer in 1..500."""
    raw = request.query_params.get(PAGE_SIZE_PARAM)
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationError(
            {PAGE_SIZE_PARAM: [f"Must be an integer between 1 and {MAX_PAGE_SIZE}."]}
        )
    return int(raw)


def ordered(queryset: QuerySet, order: KeysetOrder) -> Iterator[QuerySet]:
    """The querysets that together yield every row in `order`: values, then nulls."""
    yield _ordered_values(queryset, order)
    if order.nullable:
        yield _ordered_nulls(queryset, order)


def _ordered_values(queryset: QuerySet, order: KeysetOrder) -> QuerySet:
    if order.nullable:
        queryset = queryset.filter(**{f"{order.field}__isnull": False})
    # COALESCE(field, field) orders as the field does, but no index matches it: PostgreSQL
    # then reads the rows through the filters' indexes and sorts them.
    key = Coalesce(F(order.field), F(order.field)) if order.sort_rows else F(order.field)
    if order.descending:
        return queryset.order_by(key.desc(), F("id").desc())
    return queryset.order_by(key.asc(), F("id").asc())


def _ordered_nulls(queryset: QuerySet, order: KeysetOrder) -> QuerySet:
    queryset = queryset.filter(**{f"{order.field}__isnull": True})
    return queryset.order_by(F("id").desc() if order.descending else F("id").asc())


def _after_values(queryset: QuerySet, order: KeysetOrder, value: Any, last_id: int) -> QuerySet:
    queryset = _ordered_values(queryset, order)
    field = order.field
    # The `>=` bound is redundant with the OR but lets PostgreSQL use it as an index
    # condition on (venue, field, id) instead of a filter applied row by row.
    if order.descending:
        after = Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": last_id})
        return queryset.filter(after, **{f"{field}__lte": value})
    after = Q(**{f"{field}__gt": value}) | Q(**{field: value, "id__gt": last_id})
    return queryset.filter(after, **{f"{field}__gte": value})


def _after_nulls(queryset: QuerySet, order: KeysetOrder, last_id: int | None) -> QuerySet:
    queryset = _ordered_nulls(queryset, order)
    if last_id is None:
        return queryset
    return queryset.filter(**{"id__lt" if order.descending else "id__gt": last_id})


def _within_budget(connection: Any, walk: Callable[[], list[Any]]) -> list[Any]:
    """The walk's rows, or OperationalError (query canceled) past WALK_BUDGET."""
    set_budget = (
        "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, %s)"
    )
    restore = "SELECT set_config('statement_timeout', %s, %s)"
    if connection.in_atomic_block:
        # A savepoint keeps the caller's transaction usable after a canceled walk, and the
        # setting, local to the transaction, is put back for the rest of it.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(set_budget, [WALK_BUDGET, True])
            previous = cursor.fetchone()[0]
            rows = walk()
            cursor.execute(restore, [previous, True])
            return rows
    # Out of a transaction (as requests run): the session's setting, put back either way;
    # two round trips fewer than opening and closing a transaction for it.
    with connection.cursor() as cursor:
        cursor.execute(set_budget, [WALK_BUDGET, False])
        previous = cursor.fetchone()[0]
        try:
            return walk()
        finally:
            cursor.execute(restore, [previous, False])


@dataclass(frozen=True)
class PageSource:
    """The rows to page, built from values so that each page query is compiled once per
    shape (`CompiledShapes`): `build(values)` is the filtered queryset (a `values_list` of
    named rows), and `key` names everything else it depends on."""

    key: Hashable
    values: dict[str, Any]
    build: Callable[[dict[str, Any]], QuerySet]
    shapes: CompiledShapes | None = None
    db: str = DEFAULT_DB_ALIAS

    @classmethod
    def of(cls, queryset: QuerySet) -> PageSource:
        return cls(key=None, values={}, build=lambda values: queryset, db=queryset.db)


_POSITION_VALUE = "position.value"
_POSITION_ID = "position.id"


class KeysetPaginator:
    """Pages a queryset in a `KeysetOrder`; `next_url` is None on the last page."""

    def __init__(
        self,
        *,
        request: Request,
        order: KeysetOrder,
        model: type[Model],
        sort_fallback: bool = False,
    ) -> None:
        """`sort_fallback`: the filters select few enough rows to sort (see search_plan);
        the index walk then gets WALK_BUDGET, and the rows are sorted if it runs out."""
        self.request = request
        self.order = order
        self.sort_fallback = sort_fallback
        # Turns a cursor's JSON value back into the field's Python type.
        self.model_field = model._meta.get_field(order.field)
        self.page_size = page_size_from(request)
        self.position = self._decode(request.query_params.get(CURSOR_PARAM))
        self.next_url: str | None = None

    def page(self, rows: QuerySet | PageSource) -> list[Any]:
        """At most `page_size` rows after the cursor's position: model instances, or named
        rows (`values_list(..., named=True)`) holding `id` and the ordering field."""
        source = rows if isinstance(rows, PageSource) else PageSource.of(rows)
        wanted = self.page_size + 1
        page: list[Any] = []
        if self.position is None or not self.position.in_nulls:
            page = self._values_page(source, wanted)
        if len(page) < wanted and self.order.nullable:
            page += self._rows(source, self.order, wanted - len(page), nulls=True)
        if len(page) > self.page_size:
            page = page[: self.page_size]
            self.next_url = replace_query_param(
                self.request.build_absolute_uri(), CURSOR_PARAM, self._encode(page[-1])
            )
        return page

    def _values_page(self, source: PageSource, wanted: int) -> list[Any]:
        connection = connections[source.db]
        if not self.sort_fallback or connection.vendor != "postgresql":
            return self._rows(source, self.order, wanted)
        # The walk is fast unless the selected rows sit at the far end of the index (customers
        # who never bought, in descending value): it gets a budget, then the rows are sorted.
        try:
            return _within_budget(connection, lambda: self._rows(source, self.order, wanted))
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != _QUERY_CANCELED:
                raise
        return self._rows(source, replace(self.order, sort_rows=True), wanted)

    def _rows(
        self, source: PageSource, order: KeysetOrder, limit: int, *, nulls: bool = False
    ) -> list[Any]:
        """Up to `limit` rows after the position among the field's values (or its nulls)."""
        values = dict(source.values)
        position = self.position
        if position is not None and position.in_nulls == nulls:
            if not nulls:
                values[_POSITION_VALUE] = position.value
            values[_POSITION_ID] = position.id
        after_position = _POSITION_ID in values

        def build(values: dict[str, Any]) -> QuerySet:
            queryset = source.build(values)
            if nulls:
                return _after_nulls(queryset, order, values.get(_POSITION_ID))[:limit]
            if not after_position:
                return _ordered_values(queryset, order)[:limit]
            return _after_values(queryset, order, values[_POSITION_VALUE], values[_POSITION_ID])[
                :limit
            ]

        if source.shapes is not None:
            key = (source.key, order, limit, nulls, after_position)
            rows = source.shapes.rows(key, values, build)
            if rows is not None:
                return rows
        return list(build(values))

    def _encode(self, row: Any) -> str:
        value = getattr(row, self.order.field)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        payload = {"o": self.order.key, "v": value, "i": row.id, "n": value is None}
        return signing.dumps(payload, salt=_CURSOR_SALT)

    def _decode(self, raw: str | None) -> _Position | None:
        if raw is None:
            return None
        invalid = ValidationError({CURSOR_PARAM: ["Invalid cursor."]})
        if len(raw) > 1000:
            raise invalid
        try:
            payload = signing.loads(raw, salt=_CURSOR_SALT)
        except signing.BadSignature as exc:
            raise invalid from exc
        if not isinstance(payload, dict) or payload.get("o") != self.order.key:
            raise ValidationError({CURSOR_PARAM: ["Cursor does not match this ordering."]})
        in_nulls = bool(payload.get("n"))
        value = payload.get("v")
        if not in_nulls:
            try:
                value = self.model_field.to_python(value)
            except DjangoValidationError as exc:
                raise invalid from exc
        return _Position(value=value, id=int(payload.get("i", 0)), in_nulls=in_nulls)
