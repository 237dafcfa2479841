"""Keyset (cursor) pagination over one ordering field with the row id as tie-breaker.

DRF's CursorPagination cannot page over nullable fields (a null position is compared as the
string "None" and the query fails), and several profile fields a client sorts by are null for
customers without purchases. This paginator orders `field, id` in one direction, puts nulls
last in both directions, and walks the two parts (values, then nulls) with separate
index-friendly queries, so a page deep in a million rows costs the same as the first one.

The cursor is signed and bound to what it was issued for (the venue, the filters, the
ordering: a `binding` the view gives): a client cannot forge a position, and a cursor of
another search is refused naming `cursor`. It names its last row by a key the client already
sees (the customer's pseudonym, the event's id), never by the internal row id, which the next
page looks up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.crypto import salted_hmac
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
PAGE_SIZE_PARAM = "pageSize"
CURSOR_PARAM = "cursor"
MAX_CURSOR_LENGTH = 1000
CURSOR_SALT = "customer_intel.api.cursor"
# How long a page's index walk may take before the filtered rows are sorted instead.
WALK_BUDGET = "30ms"
_QUERY_CANCELED = "57014"

PAGE_SIZE_SCHEMA = {
    "type": "integer",
    "minimum": 1,
    "maximum": MAX_PAGE_SIZE,
    "default": DEFAULT_PAGE_SIZE,
}
# An empty cursor is no cursor: the first page.
CURSOR_SCHEMA = {"type": "string", "maxLength": MAX_CURSOR_LENGTH}


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


def cursor_binding(*parts: object) -> str:
    """A short keyed digest of what a cursor is issued for (the parts' text, in order)."""
    text = "\x1f".join(str(part) for part in parts)
    return salted_hmac(CURSOR_SALT, text).hexdigest()[:20]


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


def _after(queryset: QuerySet, order: KeysetOrder, position: _Position | None) -> QuerySet:
    """The values part of `queryset` after `position`, in order."""
    queryset = _ordered_values(queryset, order)
    if position is None:
        return queryset
    field, value, last_id = order.field, position.value, position.id
    # The `>=` bound is redundant with the OR but lets PostgreSQL use it as an index
    # condition on (venue, field, id) instead of a filter applied row by row.
    if order.descending:
        after = Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": last_id})
        return queryset.filter(after, **{f"{field}__lte": value})
    after = Q(**{f"{field}__gt": value}) | Q(**{field: value, "id__gt": last_id})
    return queryset.filter(after, **{f"{field}__gte": value})


def _after_nulls(queryset: QuerySet, order: KeysetOrder, position: _Position | None) -> QuerySet:
    queryset = _ordered_nulls(queryset, order)
    if position is None:
        return queryset
    return queryset.filter(**{"id__lt" if order.descending else "id__gt": position.id})


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


class KeysetPaginator:
    """Pages a queryset in a `KeysetOrder`; `next_url` is None on the last page.

    `positions` is the unfiltered queryset the rows come from, where the cursor's `key_field`
    (unique in it) finds the last row's id; `binding` is what the cursor is bound to (see
    `cursor_binding`).
    """

    def __init__(
        self,
        *,
        request: Request,
        order: KeysetOrder,
        positions: QuerySet,
        key_field: str,
        binding: str,
        sort_fallback: bool = False,
    ) -> None:
        """`sort_fallback`: the filters select few enough rows to sort (see search_plan);
        the index walk then gets WALK_BUDGET, and the rows are sorted if it runs out."""
        self.request = request
        self.order = order
        self.positions = positions
        self.key_field = key_field
        self.binding = binding
        self.sort_fallback = sort_fallback
        self.page_size = page_size_from(request)
        self.position = self._decode(request.query_params.get(CURSOR_PARAM))
        self.next_url: str | None = None

    def page(self, rows: QuerySet) -> list[Any]:
        """At most `page_size` rows after the cursor's position. `rows` must give model
        instances or named rows holding the ordering field and the key field."""
        wanted = self.page_size + 1
        position = self.position
        page: list[Any] = []
        if position is None or not position.in_nulls:
            page = self._values_page(rows, wanted)
        if len(page) < wanted and self.order.nullable:
            in_nulls = position if position is not None and position.in_nulls else None
            page += list(_after_nulls(rows, self.order, in_nulls)[: wanted - len(page)])
        if len(page) > self.page_size:
            page = page[: self.page_size]
            self.next_url = replace_query_param(
                self.request.build_absolute_uri(), CURSOR_PARAM, self._encode(page[-1])
            )
        return page

    def _values_page(self, rows: QuerySet, wanted: int) -> list[Any]:
        position = self.position
        connection = transaction.get_connection(rows.db)
        if not self.sort_fallback or connection.vendor != "postgresql":
            return list(_after(rows, self.order, position)[:wanted])
        # The walk is fast unless the selected rows sit at the far end of the index (customers
        # who never bought, in descending value): it gets a budget, then the rows are sorted.
        try:
            return _within_budget(
                connection, lambda: list(_after(rows, self.order, position)[:wanted])
            )
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != _QUERY_CANCELED:
                raise
        return list(_after(rows, replace(self.order, sort_rows=True), position)[:wanted])

    def _encode(self, row: Any) -> str:
        value = getattr(row, self.order.field)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        payload = {
            "b": self.binding,
            "k": getattr(row, self.key_field),
            "v": value,
            "n": value is None,
        }
        return signing.dumps(payload, salt=CURSOR_SALT, compress=True)

    def _decode(self, raw: str | None) -> _Position | None:
        if not raw:
            return None
        invalid = ValidationError({CURSOR_PARAM: ["Invalid cursor."]})
        if len(raw) > MAX_CURSOR_LENGTH:
            raise invalid
        try:
            payload = signing.loads(raw, salt=CURSOR_SALT)
        except signing.BadSignature as exc:
            raise invalid from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("k"), str):
            raise invalid
        if payload.get("b") != self.binding:
            raise ValidationError(
                {CURSOR_PARAM: ["This cursor was issued for another venue, filters or ordering."]}
            )
        in_nulls = bool(payload.get("n"))
        value = payload.get("v")
        if not in_nulls:
            try:
                value = self.positions.model._meta.get_field(self.order.field).to_python(value)
            except DjangoValidationError as exc:
                raise invalid from exc
        last_id = (
            self.positions.filter(**{self.key_field: payload["k"]})
            .values_list("id", flat=True)
            .first()
        )
        if last_id is None:
            raise ValidationError(
                {CURSOR_PARAM: ["The cursor's last row no longer exists; start again."]}
            )
        return _Position(value=value, id=last_id, in_nulls=in_nulls)
