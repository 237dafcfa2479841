"""After ingestion, a dump of the whole database holds pseudonyms and never a raw customer id."""

from __future__ import annotations

import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from customer_intel.privacy import pseudonymize
from tests.commands.conftest import csv_row, write_csv
from tests.ingestion.conftest import event_payload

RAW_IDS = [f"Dump-Raw-Customer-{n}-q8Zx@example.org" for n in range(5)]


def _dump_database() -> str:
    settings = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "-h", settings["HOST"], "-p", str(settings["PORT"]), "-U", settings["USER"],
         "--no-owner", settings["NAME"]],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return dump.stdout


@pytest.mark.django_db(transaction=True)
def test_no_raw_customer_id_reaches_the_database(writer_client, venue, tmp_path):
    api_events = [event_payload(n, customerId=raw) for n, raw in enumerate(RAW_IDS[:3])]
    # A rejected batch stores nothing; its raw id must not surface anywhere either.
    rejected = [event_payload(10, customerId=RAW_IDS[3], quantity=0)]
    url = f"/events/venue/{venue.pk}"
    assert writer_client.post(url, {"events": api_events}, format="json").status_code == 200
    assert writer_client.post(url, {"events": rejected}, format="json").status_code == 400
    path = write_csv(tmp_path / "events.csv", [csv_row(50, customerId=RAW_IDS[4])])
    call_command("import_events", str(venue.pk), str(path), "--no-progress", stdout=StringIO())

    dump = _dump_database()

    assert "customer_intel_customerevent" in dump
    for raw in RAW_IDS:
        assert raw not in dump
        assert raw.lower() not in dump.lower()
    for raw in [*RAW_IDS[:3], RAW_IDS[4]]:
        assert pseudonymize(raw) in dump
