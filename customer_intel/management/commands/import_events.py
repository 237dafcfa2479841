"""manage.py import_events VENUE_ID FILE.csv — bulk-load events from a CSV file."""

from __future__ import annotations

import contextlib
import csv
import io
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customer_intel.models import Venue
from customer_intel.privacy import pseudonymize
from customer_intel.services.ingestion import (
    CSV_COLUMNS,
    CsvHeaderError,
    CsvImportSummary,
    CsvRejectedRow,
    events_import_csv,
)

MAX_BATCH_SIZE = 50_000
# Rejected rows keep their cells for the operator, except the raw customer id: its pseudonym is
# written instead, enough to find the customer's other events without storing the raw id.
REJECTS_COLUMNS = [
    "line",
    "field",
    "message",
    *("customerPseudonym" if name == "customerId" else name for name in CSV_COLUMNS),
]


class Command(BaseCommand):
    help = (
        "Import events from a CSV file with a header line (columns: "
        + ", ".join(CSV_COLUMNS)
        + "; properties as JSON text). Same validation and idempotency as the REST batch: "
        "valid rows are stored batch by batch, known eventIds are skipped, invalid rows are "
        "written to a rejects file (raw customer ids replaced by their pseudonyms) and make "
        "the command exit non-zero."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("venue_id", help="The venue's id (UUID).")
        parser.add_argument("file", help="Path of the CSV file (UTF-8).")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.INGEST_MAX_BATCH,
            help="Rows per transaction (default %(default)s).",
        )
        parser.add_argument(
            "--rejects",
            help="Where to write rejected rows (default: FILE.rejects.csv next to FILE).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        venue = _venue(options["venue_id"])
        path = Path(options["file"])
        batch_size: int = options["batch_size"]
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}.")
        rejects_path = Path(options["rejects"] or f"{path}.rejects.csv")
        try:
            source = path.open("rb")
        except OSError as problem:
            raise CommandError(f"Cannot read {path}: {problem.strerror}.") from None

        rejects = _RejectsFile(rejects_path)
        progress = tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            desc="import",
            file=sys.stderr,
            disable=options["no_progress"],
        )
        try:
            with source, progress:
                summary = events_import_csv(
                    venue=venue,
                    lines=_decoded_lines(source, progress),
                    batch_size=batch_size,
                    on_rejected=rejects.write,
                    on_batch=lambda s: progress.set_postfix(
                        accepted=s.accepted, duplicates=s.duplicates, rejected=s.rejected
                    ),
                )
        except CsvHeaderError as problem:
            raise CommandError(f"{path}: {problem}.") from None
        finally:
            rejects.close()
        self._report(path, summary, rejects_path)

    def _report(self, path: Path, summary: CsvImportSummary, rejects_path: Path) -> None:
        self.stdout.write(
            f"{path}: rows={summary.rows} accepted={summary.accepted} "
            f"duplicates={summary.duplicates} rejected={summary.rejected}"
        )
        if not summary.rejected:
            return
        lines = ", ".join(str(line) for line in summary.rejected_lines)
        more = summary.rejected - len(summary.rejected_lines)
        if more:
            lines += f" (and {more} more)"
        self.stdout.write(f"rejected lines: {lines}")
        self.stdout.write(f"rejected rows written to {rejects_path}")
        raise CommandError(
            f"{summary.rejected} row(s) rejected; valid rows were stored. "
            f"Fix the lines listed in {rejects_path} in the source file and import it again "
            "(stored events are skipped as duplicates)."
        )


def _venue(venue_id: str) -> Venue:
    try:
        venue_uuid = uuid.UUID(venue_id)
    except ValueError:
        raise CommandError(f"Venue id {venue_id!r} is not a UUID.") from None
    venue = Venue.objects.filter(pk=venue_uuid).first()
    if venue is None:
        raise CommandError(f"Venue {venue_uuid} does not exist.")
    return venue


def _decoded_lines(source: BinaryIO, progress: tqdm) -> Iterator[str]:
    """The file's lines as text, advancing the progress bar by bytes read.

    Bytes that are not UTF-8 are kept as surrogate escapes, which validation rejects, so a bad
    line is reported instead of aborting the import. Decoding line by line is safe for UTF-8:
    no multi-byte character contains a newline byte.
    """
    for raw in source:
        progress.update(len(raw))
        yield raw.decode("utf-8", "surrogateescape")


class _RejectsFile:
    """The rejects CSV, opened on the first rejected row so a clean import writes nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: io.TextIOWrapper | None = None
        self._writer: Any = None

    def write(self, rejected: CsvRejectedRow) -> None:
        if self._writer is None:
            try:
                self._file = self.path.open("w", newline="", encoding="utf-8", errors="replace")
            except OSError as problem:
                raise CommandError(
                    f"Cannot write the rejects file {self.path}: {problem.strerror}."
                ) from None
            self._writer = csv.writer(self._file)
            self._writer.writerow(REJECTS_COLUMNS)
        cells = dict(rejected.cells)
        raw_customer_id = cells.pop("customerId", "")
        if raw_customer_id.strip():
            # Bytes that were not UTF-8 have no pseudonym; the raw id is not written either way.
            with contextlib.suppress(UnicodeEncodeError):
                cells["customerPseudonym"] = pseudonymize(raw_customer_id)
        self._writer.writerow(
            [rejected.line, rejected.field, rejected.message]
            + [cells.get(name, "") for name in REJECTS_COLUMNS[3:]]
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
