"""Benchmark of `manage.py import_events` on PostgreSQL: rows per second and peak memory.

Generates a CSV of N lines (default 1,000,000) in a temporary directory, creates a fresh venue,
and runs the import in a subprocess — once on an empty venue, then again on the same file (every
row a duplicate: the replay path). Prints wall time, rows/s and the import process's peak RSS.
The venue and its events are deleted afterwards unless --keep is given.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/customer_intel_bench \\
        .venv/bin/python bench/bench_import.py [--rows 1000000] [--repeat 1]

The database is created when missing and migrated. Figures depend on the machine and on what
else runs on it: quote medians over repeats.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/customer_intel_bench"
HEADER = [
    "eventId",
    "customerId",
    "type",
    "occurredAt",
    "amount",
    "quantity",
    "currency",
    "eventCategory",
    "channel",
    "campaign",
    "properties",
]
TYPES = [
    ("ticket.purchased", 30),
    ("page.viewed", 30),
    ("cart.added", 10),
    ("campaign.clicked", 10),
    ("email.opened", 10),
    ("ticket.scanned", 8),
    ("ticket.refunded", 2),
]
CATEGORIES = ["concert", "comedy", "theatre", "family", "sport", "festival"]
CHANNELS = ["web", "email", "social", "app", "partner"]
CAMPAIGNS = ["", "", "spring-sale", "vip-presale", "newsletter-42", "retarget"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1, help="Fresh imports to take a median of.")
    parser.add_argument("--keep", action="store_true", help="Keep the venue and its events.")
    args = parser.parse_args()

    env = {**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)}
    env.setdefault("CUSTOMER_ID_HMAC_KEY", "bench-only-not-secret")  # synthetic ids only
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env["DEBUG"] = "false"  # DEBUG keeps every query in memory, which would skew peak RSS
    env.pop("CELERY_BROKER_URL", None)
    _ensure_database(env["DATABASE_URL"])
    _manage(env, "migrate", "--noinput", quiet=True)

    with tempfile.TemporaryDirectory(prefix="bench_import_") as directory:
        path = Path(directory) / "events.csv"
        started = time.perf_counter()
        _write_csv(path, rows=args.rows, customers=args.customers)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows ({size_mb:.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        fresh, replay = [], []
        for _ in range(args.repeat):
            venue_id = _manage(env, "create_venue", "--name", "bench import").strip()
            try:
                fresh.append(_timed_import(env, venue_id, path, args.batch_size, "fresh"))
                replay.append(_timed_import(env, venue_id, path, args.batch_size, "replay"))
            finally:
                if not args.keep:
                    _delete_venue(env, venue_id)
        for label, runs in (("fresh", fresh), ("replay", replay)):
            seconds = statistics.median(run[0] for run in runs)
            peak_mb = statistics.median(run[1] for run in runs)
            print(
                f"median {label}: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s, "
                f"peak RSS {peak_mb:.0f} MB (over {len(runs)} run(s))"
            )


def _timed_import(
    env: dict[str, str], venue_id: str, path: Path, batch_size: int, label: str
) -> tuple[float, float]:
    command = [
        sys.executable, "manage.py", "import_events", venue_id, str(path),
        "--batch-size", str(batch_size), "--no-progress",
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    # wait4 gives this child's own resource usage, not the maximum over every child so far.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed:\n{output}")
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    print(f"{label}: {output.strip()}")
    print(f"{label}: {seconds:.1f} s, {_rows(output) / seconds:,.0f} rows/s, peak {peak_mb:.0f} MB")
    return seconds, peak_mb


def _rows(output: str) -> int:
    for token in output.split():
        if token.startswith("rows="):
            return int(token.removeprefix("rows="))
    return 0


def _write_csv(path: Path, *, rows: int, customers: int) -> None:
    generator = random.Random(20260115)
    types = [name for name, weight in TYPES for _ in range(weight)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span_minutes = int((datetime(2026, 1, 1, tzinfo=UTC) - start).total_seconds() // 60)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            event_type = generator.choice(types)
            paying = event_type in ("ticket.purchased", "ticket.refunded")
            occurred = start + timedelta(minutes=generator.randrange(span_minutes))
            writer.writerow(
                [
                    f"bench-{n:08d}",
                    f"customer-{generator.randrange(customers):07d}@example.org",
                    event_type,
                    occurred.isoformat(),
                    f"{generator.randrange(1000, 25000) / 100:.2f}" if paying else "",
                    generator.randrange(1, 5) if paying else "",
                    "USD" if paying else "",
                    generator.choice(CATEGORIES),
                    generator.choice(CHANNELS),
                    generator.choice(CAMPAIGNS),
                    '{"seat":"B12","gate":3}' if n % 10 == 0 else "",
                ]
            )


def _manage(env: dict[str, str], *args: str, quiet: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return "" if quiet else result.stdout


def _ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL")
    server = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def _delete_venue(env: dict[str, str], venue_id: str) -> None:
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(env["DATABASE_URL"])
    with psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        dbname=config["NAME"],
    ) as db:
        # Set-based deletes: the ORM's cascade would load a million events first.
        for table in ("customer_intel_customerevent", "customer_intel_pendingcustomer"):
            db.execute(f"DELETE FROM {table} WHERE venue_id = %s", [venue_id])
        db.execute("DELETE FROM customer_intel_venue WHERE id = %s", [venue_id])


if __name__ == "__main__":
    main()
