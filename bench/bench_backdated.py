"""Benchmark of a back-dated recompute right after a venue's history is imported: the state in
which a statement pinned to a nested-loop plan once took a minute.

    .venv/bin/python bench/bench_backdated.py [--customers 25000] [--events 70000] \\
        [--as-of 2025-12-01T00:00:00Z] [--repeat 3] [--project DIR]

Each measurement drops and creates the database named by DATABASE_URL, migrates it, creates one
venue, imports a history file of --events lines by --customers customers with
`manage.py import_events`, and times, each as its own process as an operator runs it:

- `recompute VENUE --as-of` right after the import (the tables as the import leaves them);
- the same on a second fresh database whose statistics are removed between the import and the
  recompute, as if never analyzed (what a server without autovacuum, or one that has not
  reached the tables yet, plans with).

Both recomputes are the venue's first run, so both refresh the facts of every customer the
import marked pending before computing the profiles.

--project runs the commands from another checkout of the service (its own virtual environment
or this one's interpreter), so the same figures can be taken before and after a change.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/customer_intel_bench_backdated"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A never-analyzed table: no column statistics, and no row count for the planner to scale.
STATISTICS_DROP = """
    DELETE FROM pg_statistic WHERE starelid IN (
        SELECT oid FROM pg_class WHERE relname LIKE 'customer_intel%');
    UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE relname LIKE 'customer_intel%';
"""

os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("CUSTOMER_ID_HMAC_KEY", "bench-only-not-secret")  # synthetic ids only
os.environ["DEBUG"] = "0"
os.environ.pop("CELERY_BROKER_URL", None)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from bench.databases import database_ensure, server  # noqa: E402
from bench.history_file import history_write  # noqa: E402
from customer_intel.services.event_validation import EVENT_FIELDS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--events", type=int, default=70_000)
    parser.add_argument("--as-of", default="2025-12-01T00:00:00Z")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--project", type=Path, default=ROOT, help="Checkout to run.")
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    python = args.project / ".venv/bin/python"
    manage = [str(python if python.exists() else sys.executable), "manage.py"]

    def run(*command: str) -> str:
        done = subprocess.run(
            [*manage, *command], cwd=args.project, check=True, capture_output=True,
            text=True,
        )  # fmt: skip
        return done.stdout

    def timed(*command: str) -> float:
        started = time.perf_counter()
        run(*command)
        return time.perf_counter() - started

    analyzed, unanalyzed = [], []
    with tempfile.TemporaryDirectory(prefix="bench_backdated_") as directory:
        path = Path(directory) / "history.csv"
        history_write(
            path, fields=EVENT_FIELDS, rows=args.events, customers=args.customers, known_share=1.0
        )
        for _ in range(args.repeat):
            times = []
            for drop_statistics in (False, True):
                database_ensure(url, afresh=True)
                run("migrate", "--verbosity", "0")
                venue = UUID.search(run("create_venue", "--name", "Backdated Hall")).group(0)
                imported = timed("import_events", venue, str(path), "--no-progress")
                if drop_statistics:
                    _statistics_drop(url)
                times.append(timed("recompute", venue, "--as-of", args.as_of))
            analyzed.append(times[0])
            unanalyzed.append(times[1])
            print(
                f"import {imported:.1f} s; recompute --as-of {args.as_of}: {analyzed[-1]:.1f} s "
                f"as imported, {unanalyzed[-1]:.1f} s without statistics",
                flush=True,
            )
    print(
        f"{args.project}: {args.customers:,} customers, {args.events:,} events; back-dated "
        f"recompute (median of {args.repeat}, process start included): "
        f"{statistics.median(analyzed):.1f} s as imported, "
        f"{statistics.median(unanalyzed):.1f} s without statistics"
    )


def _statistics_drop(url: str) -> None:
    import psycopg

    options, name = server(url)
    with psycopg.connect(dbname=name, autocommit=True, **options) as database:
        database.execute(STATISTICS_DROP)


if __name__ == "__main__":
    main()
