"""import_events on PostgreSQL: standard input, gzip, an interrupted import run again, the
refunds that exceed purchases, and what the rejects file may hold."""

from __future__ import annotations

import csv
import gzip
import io
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from customer_intel.models import (
    CustomerEvent,
    CustomerProfile,
    PendingCustomer,
    RunMode,
    SuppressedCustomer,
)
from customer_intel.privacy import pseudonymize
from customer_intel.services.recompute import run_recompute
from tests.commands.conftest import HEADER, csv_row, write_csv
from tests.embedded import ROOT


def _csv_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def test_standard_input_is_read_with_a_dash(run_command, venue, monkeypatch, tmp_path):
    text = _csv_text([csv_row(n) for n in range(5)])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    monkeypatch.chdir(tmp_path)

    out, _ = run_command("import_events", str(venue.pk), "-")

    assert "-: rows=5 accepted=5 duplicates=0 rejected=0" in out
    assert CustomerEvent.objects.filter(venue=venue).count() == 5


def test_a_gzip_file_is_read_compressed(run_command, venue, tmp_path):
    path = tmp_path / "events.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        handle.write(_csv_text([csv_row(n) for n in range(40)]))

    out, _ = run_command("import_events", str(venue.pk), str(path), "--batch-size", "15")

    assert "rows=40 accepted=40 duplicates=0 rejected=0" in out
    assert CustomerEvent.objects.filter(venue=venue).count() == 40


def test_a_file_that_is_not_gzip_is_a_clear_error(run_command, venue, tmp_path):
    path = tmp_path / "events.csv.gz"
    path.write_text(_csv_text([csv_row(0)]))

    with pytest.raises(CommandError, match="Cannot read"):
        run_command("import_events", str(venue.pk), str(path))


def test_refunds_exceeding_purchases_are_counted_and_flagged_on_the_profile(
    run_command, venue, tmp_path
):
    rows = [
        csv_row(1, customerId="early-refund", type="ticket.refunded", amount="80.00"),
        csv_row(2, customerId="early-refund", amount="30.00"),
        csv_row(3, customerId="paid-then-refunded", amount="50.00"),
        csv_row(4, customerId="paid-then-refunded", type="ticket.refunded", amount="50.00"),
    ]
    path = write_csv(tmp_path / "events.csv", rows)

    out, _ = run_command("import_events", str(venue.pk), str(path))
    run_recompute(venue=venue, mode=RunMode.INCREMENTAL)

    assert "refunds_exceeding_purchases=1" in out
    assert "1 customer(s) have refunds larger than their purchases" in out
    profiles = {p.customer: p for p in CustomerProfile.objects.filter(venue=venue)}
    early = profiles[pseudonymize("early-refund")]
    assert (early.refunds_exceed_purchases, early.total_spent) == (True, Decimal("0.00"))
    assert profiles[pseudonymize("paid-then-refunded")].refunds_exceed_purchases is False


def test_the_rejects_file_quotes_formulas_and_never_writes_nul(run_command, venue, tmp_path):
    rows = [
        csv_row(1, type="nope", campaign='=HYPERLINK("http://x")', channel="@sum", amount="-5"),
        csv_row(2, eventCategory="+cmd", type="ticket.scanned\x00"),
    ]
    path = write_csv(tmp_path / "events.csv", rows)
    rejects = tmp_path / "rejects.csv"

    with pytest.raises(CommandError, match="2 row"):
        run_command("import_events", str(venue.pk), str(path), "--rejects", str(rejects))

    text = rejects.read_text(encoding="utf-8")
    assert "\x00" not in text
    written = list(csv.DictReader(io.StringIO(text)))
    assert written[0]["campaign"] == '\'=HYPERLINK("http://x")'
    assert written[0]["channel"] == "'@sum"
    assert written[0]["amount"] == "'-5"
    assert written[1]["eventCategory"] == "'+cmd"
    assert written[1]["type"] == "ticket.scanned\ufffd"


def _subprocess_env() -> dict[str, str]:
    database = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}",
        "PYTHONUNBUFFERED": "1",
    }


def _wait_for(condition, *, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the first chunk to be committed")
        time.sleep(0.05)


def test_an_import_killed_halfway_stores_each_event_once_when_run_again(
    transactional_db, venue, tmp_path
):
    rows = [csv_row(n, customerId=f"kill-{n % 17}") for n in range(250)]
    text = _csv_text(rows)
    lines = text.splitlines(keepends=True)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_events", str(venue.pk), "-", "--batch-size", "100"],
        cwd=ROOT,
        env=_subprocess_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The header and 150 rows: the first chunk of 100 commits, the second is half staged
        # in an open transaction while the import waits for more input.
        assert process.stdin is not None
        process.stdin.write("".join(lines[:151]).encode())
        process.stdin.flush()
        _wait_for(lambda: CustomerEvent.objects.filter(venue=venue).count() >= 100)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    assert CustomerEvent.objects.filter(venue=venue).count() == 100
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_events", str(venue.pk), str(path), stdout=out, stderr=io.StringIO())

    assert "rows=250 accepted=150 duplicates=100 rejected=0" in out.getvalue()
    stored = CustomerEvent.objects.filter(venue=venue)
    assert stored.count() == 250
    assert stored.values("event_id").distinct().count() == 250
    assert PendingCustomer.objects.filter(venue=venue).count() == 17


def test_a_suppressed_customers_events_are_dropped_and_counted(run_command, venue, tmp_path):
    SuppressedCustomer.objects.create(venue=venue, customer=pseudonymize("erased-fan"))
    rows = [
        csv_row(1, customerId="erased-fan", amount="20.00"),
        csv_row(2, customerId="erased-fan", type="page.viewed", amount=""),
        csv_row(3, customerId="kept-fan", amount="30.00"),
    ]
    path = write_csv(tmp_path / "events.csv", rows)

    out, _ = run_command("import_events", str(venue.pk), str(path))

    assert "accepted=1 duplicates=0 suppressed=2 rejected=0" in out
    assert set(CustomerEvent.objects.filter(venue=venue).values_list("customer", flat=True)) == {
        pseudonymize("kept-fan")
    }
    assert not PendingCustomer.objects.filter(venue=venue, customer=pseudonymize("erased-fan"))
