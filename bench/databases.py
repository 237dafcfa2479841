"""The benchmarks' databases: the PostgreSQL server a DATABASE_URL names, and the database on it
created when missing or dropped and created afresh. Imports nothing of Django's setup, so a
benchmark can make its database before `django.setup()`."""

from __future__ import annotations

from typing import Any


def server(url: str) -> tuple[dict[str, Any], str]:
    """psycopg's connection options for the server of `url`, and the database's name."""
    import dj_database_url

    config = dj_database_url.parse(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL")
    options = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
    }
    return options, config["NAME"]


def database_ensure(url: str, *, afresh: bool = False) -> None:
    """Create the database of `url` if it does not exist; `afresh` drops it first."""
    import psycopg
    from psycopg import sql

    options, name = server(url)
    with psycopg.connect(dbname="postgres", autocommit=True, **options) as admin:
        if afresh:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", flush=True)
