"""manage.py import_events VENUE_ID FILE — load events from a CSV file (`-`: standard input;
`.gz`: gzip-compressed)."""

from __future__ import annotations

import contextlib
import gzip
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customer_intel.management.commands._common import progress_bar, venue_from_argument
from customer_intel.services.csv_import import RejectsFile, events_import_csv
from customer_intel.services.csv_records import (
    CSV_COLUMNS,
    CsvHeaderError,
    CsvImportSummary,
    CsvRejectedRow,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100_000
MAX_BATCH_SIZE = 1_000_000
STDIN = "-"


class Command(BaseCommand):
    help = (
        "Import events from a CSV file with a header line (columns: "
        + ", ".join(CSV_COLUMNS)
        + "; properties as JSON text). FILE may be - for standard input, and a name ending "
        "in .gz is read gzip-compressed. Same validation and idempotency as the REST batch: "
        "valid rows are stored batch by batch, known eventIds are skipped, invalid rows are "
        "written to a rejects file (raw customer ids replaced by their pseudonyms) and make "
        "the command exit non-zero. An interrupted import can simply be run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("venue_id", help="The venue's id (UUID).")
        parser.add_argument("file", help="Path of the CSV file (UTF-8), .gz, or - for stdin.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help="Rows per transaction (default %(default)s).",
        )
        parser.add_argument(
            "--rejects",
            help="Where to write rejected rows (default: FILE.rejects.csv next to FILE; "
            "stdin.rejects.csv in the current directory when reading standard input).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        venue = venue_from_argument(options["venue_id"])
        name: str = options["file"]
        batch_size: int = options["batch_size"]
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}.")
        default_rejects = "stdin.rejects.csv" if name == STDIN else f"{name}.rejects.csv"
        rejects = RejectsFile(Path(options["rejects"] or default_rejects))

        def write_rejected(row: CsvRejectedRow) -> None:
            try:
                rejects.write(row)
            except OSError as problem:
                raise CommandError(
                    f"Cannot write the rejects file {rejects.path}: {problem.strerror}."
                ) from None

        started = time.monotonic()
        try:
            with contextlib.ExitStack() as files:
                source, size = _open(name, files)
                bar = files.enter_context(
                    progress_bar(
                        self,
                        total=size,
                        desc="import",
                        unit="B",
                        unit_scale=True,
                        enabled=not options["no_progress"] and options["verbosity"] > 0,
                    )
                )
                summary = events_import_csv(
                    venue=venue,
                    source=_lines(source, bar),
                    batch_size=batch_size,
                    on_rejected=write_rejected,
                    on_batch=lambda s: bar.set_postfix(
                        accepted=s.accepted, duplicates=s.duplicates, rejected=s.rejected
                    ),
                )
        except CsvHeaderError as problem:
            raise CommandError(f"{name}: {problem}.") from None
        except OSError as problem:
            raise CommandError(f"Cannot read {name}: {problem.strerror or problem}.") from None
        finally:
            rejects.close()
        logger.info(
            "events_imported venue=%s rows=%d accepted=%d duplicates=%d rejected=%d "
            "refunds_exceeding_purchases=%d duration_s=%.1f",
            venue.pk,
            summary.rows,
            summary.accepted,
            summary.duplicates,
            summary.rejected,
            summary.refunds_exceeding_purchases,
            time.monotonic() - started,
        )
        self._report(name, summary, rejects.path)

    def _report(self, name: str, summary: CsvImportSummary, rejects_path: Path) -> None:
        self.stdout.write(
            f"{name}: rows={summary.rows} accepted={summary.accepted} "
            f"duplicates={summary.duplicates} "
            + (f"suppressed={summary.suppressed} " if summary.suppressed else "")
            + f"rejected={summary.rejected} "
            f"refunds_exceeding_purchases={summary.refunds_exceeding_purchases}"
        )
        if summary.refunds_exceeding_purchases:
            self.stdout.write(
                f"{summary.refunds_exceeding_purchases} customer(s) have refunds larger than "
                "their purchases at this venue (stored; their profiles carry the flag "
                "refundsExceedPurchases until the purchases arrive)."
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


def _open(name: str, files: contextlib.ExitStack) -> tuple[IO[bytes], int | None]:
    """The file's bytes, closed with `files`, and its size for the progress bar (None when
    unknown)."""
    if name == STDIN:
        return sys.stdin.buffer, None
    path = Path(name)
    try:
        raw = files.enter_context(path.open("rb"))
        size = path.stat().st_size
    except OSError as problem:
        raise CommandError(f"Cannot read {name}: {problem.strerror}.") from None
    if path.suffix == ".gz":
        # The bar follows the compressed bytes read, the only size known up front.
        return files.enter_context(gzip.GzipFile(fileobj=_Counted(raw), mode="rb")), size
    return raw, size


class _Counted:
    """A binary file that remembers how many bytes were read from it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.consumed += len(data)
        return data


def _lines(source: IO[bytes], bar: tqdm) -> Iterator[bytes]:
    counted = getattr(source, "fileobj", None)
    if isinstance(counted, _Counted):
        for line in source:
            bar.update(counted.consumed - bar.n)
            yield line
        return
    for line in source:
        bar.update(len(line))
        yield line
