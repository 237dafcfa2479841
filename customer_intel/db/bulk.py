"""Statements whose parameters are large arrays, sent apart from the query text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from django.db import connection


def execute_binary(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple]:
    """Run `sql` with its parameters sent apart from the query text, in binary.

    Django's psycopg cursors bind on the client unless the database's `server_side_binding`
    option is set, quoting all 50,000 array elements of an ingestion batch into the query
    text; sending them as parameters measured about 20% faster per batch. The statement runs
    on Django's own connection, inside the caller's transaction (PostgreSQL only).
    """
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall() if cursor.description else []
