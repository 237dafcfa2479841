"""Helpers for running management commands and writing CSV files."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from customer_intel.services.event_validation import EVENT_FIELDS

HEADER = list(EVENT_FIELDS)


def csv_row(n: int, **overrides: str) -> dict[str, str]:
    row = {
        "eventId": f"csv-{n:06d}",
        "customerId": f"csv-customer-{n % 13}",
        "type": "ticket.purchased",
        "occurredAt": f"2026-01-{1 + n % 28:02d}T20:00:00Z",
        "amount": "30.00",
        "quantity": "1",
        "currency": "USD",
        "eventCategory": "comedy",
        "channel": "email",
        "campaign": "",
        "properties": '{"row": "B"}',
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def run_command():
    def run(*args: Any) -> tuple[str, str]:
        out, err = StringIO(), StringIO()
        call_command(*args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    return run
