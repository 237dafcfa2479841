"""A second PostgreSQL session on the test database: another worker, a blocker, an observer."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection


def raw_connection() -> psycopg.Connection[Any]:
    """A second, autocommit session on the test database (another client of the server)."""
    database = connection.settings_dict
    return psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        autocommit=True,
    )
