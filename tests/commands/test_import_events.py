"""manage.py import_events: the CSV path through the same validation and idempotent insert."""

from __future__ import annotations

import csv
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from customer_intel.models import CustomerEvent, PendingCustomer
from customer_intel.privacy import pseudonymize
from tests.commands.conftest import HEADER, csv_row, write_csv

RAW_ID = "raw-csv-customer-91b2@example.org"


def test_a_clean_file_is_imported_in_batches(run_command, venue, tmp_path):
    path = write_csv(tmp_path / "events.csv", [csv_row(n) for n in range(25)])

    out, _ = run_command("import_events", str(venue.pk), str(path), "--batch-size", "10")

    assert "rows=25 accepted=25 duplicates=0 rejected=0" in out
    assert CustomerEvent.objects.filter(venue=venue).count() == 25
    assert PendingCustomer.objects.filter(venue=venue).count() == 13
    event = CustomerEvent.objects.get(event_id="csv-000003")
    assert event.customer == pseudonymize("csv-customer-3")
    assert event.properties == {"row": "B"}
    assert event.quantity == 1
    assert event.campaign == ""
    assert not (tmp_path / "events.csv.rejects.csv").exists()


def test_reimporting_a_file_stores_nothing_twice(run_command, venue, tmp_path):
    path = write_csv(tmp_path / "events.csv", [csv_row(n) for n in range(12)])

    run_command("import_events", str(venue.pk), str(path), "--batch-size", "5")
    out, _ = run_command("import_events", str(venue.pk), str(path), "--batch-size", "5")

    assert "accepted=0 duplicates=12 rejected=0" in out
    assert CustomerEvent.objects.count() == 12


def test_columns_may_come_in_any_order_and_optional_ones_may_be_absent(
    run_command, venue, tmp_path
):
    header = ["occurredAt", "type", "customerId", "eventId"]
    rows = [csv_row(n, type="page.viewed") for n in range(3)]
    path = write_csv(tmp_path / "events.csv", rows, header=header)

    run_command("import_events", str(venue.pk), str(path))

    assert list(CustomerEvent.objects.values_list("quantity", "amount").distinct()) == [(1, None)]


def test_rejected_rows_are_reported_by_line_and_written_without_raw_ids(
    run_command, venue, tmp_path
):
    rows = [csv_row(n) for n in range(6)]
    rows[1] = csv_row(1, customerId=RAW_ID, amount="-5")
    rows[3] = csv_row(3, occurredAt="2026-01-03 20:00")
    rows[4] = csv_row(4, properties="{not json")
    path = write_csv(tmp_path / "events.csv", rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"extra-1,{RAW_ID},page.viewed,2026-01-01T00:00:00Z,,,,,,,,surplus\n")
    rejects = tmp_path / "bad.csv"

    with pytest.raises(CommandError, match="4 row\\(s\\) rejected"):
        run_command("import_events", str(venue.pk), str(path), "--rejects", str(rejects))

    # The valid rows of the file are stored; line 1 is the header.
    assert set(CustomerEvent.objects.values_list("event_id", flat=True)) == {
        "csv-000000",
        "csv-000002",
        "csv-000005",
    }
    with rejects.open(newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert [(r["line"], r["field"]) for r in written] == [
        ("3", "amount"),
        ("5", "occurredAt"),
        ("6", "properties"),
        ("8", "line"),
    ]
    assert written[0]["customerPseudonym"] == pseudonymize(RAW_ID)
    assert written[0]["eventId"] == "csv-000001"
    assert written[3]["eventId"] == ""
    assert RAW_ID not in rejects.read_text(encoding="utf-8")


def test_the_summary_lists_the_first_rejected_line_numbers(venue, tmp_path):
    path = write_csv(tmp_path / "events.csv", [csv_row(n, type="nope") for n in range(25)])
    out = StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import_events", str(venue.pk), str(path), "--batch-size", "7",
            stdout=out, stderr=StringIO(),
        )  # fmt: skip

    assert "rejected=25" in out.getvalue()
    first_lines = ", ".join(str(n) for n in range(2, 22))
    assert f"rejected lines: {first_lines} (and 5 more)" in out.getvalue()
    assert CustomerEvent.objects.count() == 0


def test_bytes_that_are_not_utf8_reject_their_line_only(run_command, venue, tmp_path):
    path = write_csv(tmp_path / "events.csv", [csv_row(0)])
    with path.open("ab") as handle:
        handle.write(b"csv-000001,caf\xe9-customer,page.viewed,2026-01-01T00:00:00Z,,,,,,,\n")

    with pytest.raises(CommandError, match="1 row"):
        run_command("import_events", str(venue.pk), str(path))

    assert CustomerEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["eventId", "customerId", "type"], "missing required column"),
        ([*HEADER, "colour"], "unknown column"),
        (["eventId", "eventId", "customerId", "type", "occurredAt"], "repeated column"),
    ],
    ids=["missing", "unknown", "repeated"],
)
def test_a_bad_header_stores_nothing(run_command, venue, tmp_path, header, message):
    path = tmp_path / "events.csv"
    path.write_text(",".join(header) + "\nx,y,page.viewed,2026-01-01T00:00:00Z\n")

    with pytest.raises(CommandError, match=message):
        run_command("import_events", str(venue.pk), str(path))

    assert CustomerEvent.objects.count() == 0


def test_an_empty_file_is_refused(run_command, venue, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("")

    with pytest.raises(CommandError, match="empty"):
        run_command("import_events", str(venue.pk), str(path))


@pytest.mark.parametrize("venue_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_venue_is_refused(run_command, db, tmp_path, venue_id):
    path = write_csv(tmp_path / "events.csv", [csv_row(0)])

    with pytest.raises(CommandError, match="Venue"):
        run_command("import_events", venue_id, str(path))


def test_a_missing_file_is_refused(run_command, venue, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run_command("import_events", str(venue.pk), str(tmp_path / "absent.csv"))


def test_a_batch_size_out_of_range_is_refused(run_command, venue, tmp_path):
    path = write_csv(tmp_path / "events.csv", [csv_row(0)])

    with pytest.raises(CommandError, match="batch-size"):
        run_command("import_events", str(venue.pk), str(path), "--batch-size", "0")
