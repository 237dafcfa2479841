"""The embedded default: import_events on a SQLite file, through the portable insert path."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from customer_intel.privacy import pseudonymize
from tests.commands.conftest import csv_row, write_csv
from tests.embedded import run_python, sqlite_env

HMAC_KEY = "sqlite-test-hmac-key"


def _manage(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = sqlite_env(database, CUSTOMER_ID_HMAC_KEY=HMAC_KEY)
    return run_python("manage.py", *args, env=env, check=False)


def test_import_events_works_on_sqlite(tmp_path, settings):
    database = tmp_path / "embedded.sqlite3"
    assert _manage(database, "migrate", "--noinput").returncode == 0
    created = _manage(database, "create_venue", "--name", "Embedded Hall")
    assert created.returncode == 0, created.stderr
    venue_id = created.stdout.strip()
    rows = [csv_row(n) for n in range(30)]
    rows.append(csv_row(3, amount="99.00"))  # a repeated eventId: the first occurrence wins
    path = write_csv(tmp_path / "events.csv", rows)

    first = _manage(database, "import_events", venue_id, str(path), "--batch-size", "8")
    again = _manage(database, "import_events", venue_id, str(path), "--no-progress")

    assert first.returncode == 0, first.stderr
    assert "rows=31 accepted=30 duplicates=1 rejected=0" in first.stdout
    assert "accepted=0 duplicates=31 rejected=0" in again.stdout
    with sqlite3.connect(database) as db:
        events = db.execute(
            "SELECT event_id, customer, amount FROM customer_intel_customerevent"
        ).fetchall()
        pending = db.execute("SELECT customer FROM customer_intel_pendingcustomer").fetchall()
    assert len(events) == 30
    settings.CUSTOMER_ID_HMAC_KEY = HMAC_KEY
    by_id = {event_id: (customer, amount) for event_id, customer, amount in events}
    assert by_id["csv-000003"][0] == pseudonymize("csv-customer-3")
    assert str(by_id["csv-000003"][1]) in {"30", "30.00", "30.0"}
    assert {customer for (customer,) in pending} == {
        pseudonymize(f"csv-customer-{n}") for n in range(13)
    }
