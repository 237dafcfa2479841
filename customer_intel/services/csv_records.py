"""A CSV file of events as records: each with its first line number, the header rules, the
rejected rows and the summary an import reports."""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import EVENT_FIELDS, REQUIRED_FIELDS

CSV_COLUMNS = EVENT_FIELDS
REJECTED_LINES_SHOWN = 20
# NUL and text that was not UTF-8 are shown as the replacement character, never written raw.
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")

CsvRecord = tuple[int, list[str] | None, str, bool]
"""(first line, cells or None when the line is unreadable, why it is unreadable, whether its
text holds NUL or bytes that were not UTF-8)."""


class CsvHeaderError(ValueError):
    """The file's header cannot be imported (missing, unknown or repeated columns)."""


@dataclass
class CsvRejectedRow:
    """A rejected CSV record: its first line number, the problem, and its cells by column.

    The cells never hold a raw customer id: `customerPseudonym` replaces `customerId`. They are
    empty when the record's columns do not line up with the header: the values cannot be
    attributed to columns, and one of them may be a raw customer id.
    """

    line: int
    field: str
    message: str
    cells: Mapping[str, str]


@dataclass
class CsvImportSummary:
    """What an import did: rows stored, rows already known, rows rejected (first lines), and
    customers whose refunds in the file leave them refunded more than they bought."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    # Events of customers suppressed at the venue (erased with suppression): dropped.
    suppressed: int = 0
    rejected: int = 0
    rejected_lines: list[int] = field(default_factory=list)
    refunds_exceeding_purchases: int = 0

    def record_rejection(self, line: int) -> None:
        self.rejected += 1
        if len(self.rejected_lines) < REJECTED_LINES_SHOWN:
            self.rejected_lines.append(line)


class CsvReader:
    """The records of a CSV file given as lines of bytes, after its header.

    Bytes that are not UTF-8 are kept as surrogate escapes, which validation rejects, so a bad
    line is reported instead of aborting the import. Decoding line by line is safe for UTF-8:
    no multi-byte character contains a newline byte.
    """

    def __init__(self, source: Iterable[bytes]) -> None:
        self._unstorable_lines: set[int] = set()
        self._reader = csv.reader(self._decoded(source))
        self.header = _csv_header(self._reader)

    def _decoded(self, source: Iterable[bytes]) -> Iterator[str]:
        for number, raw in enumerate(source, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "surrogateescape")
                self._unstorable_lines.add(number)
            else:
                if "\x00" in text:
                    self._unstorable_lines.add(number)
            yield text

    def __iter__(self) -> Iterator[CsvRecord]:
        reader, width, unstorable_lines = self._reader, len(self.header), self._unstorable_lines
        last_line = reader.line_num
        while True:
            problem = ""
            try:
                values: list[str] | None = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                # csv's messages describe the syntax ("field larger than field limit"), not values.
                values, problem = None, f"is not valid CSV: {error}"
            first_line, last_line = last_line + 1, reader.line_num
            if values == []:
                continue  # a blank line
            unstorable = False
            if unstorable_lines:
                lines = range(first_line, last_line + 1)
                unstorable = any(line in unstorable_lines for line in lines)
                unstorable_lines.difference_update(lines)
            if values is not None and len(values) != width:
                values, problem = None, f"has {len(values)} columns where the header has {width}"
            yield first_line, values, problem, unstorable


def _csv_header(reader: Iterator[list[str]]) -> list[str]:
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader)]
    except StopIteration:
        raise CsvHeaderError("the file is empty; expected a header line") from None
    except csv.Error as problem:
        raise CsvHeaderError(f"the header is not valid CSV: {problem}") from None
    unknown = sorted({name for name in header if name not in CSV_COLUMNS})
    if unknown:
        raise CsvHeaderError(
            f"unknown column(s): {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CsvHeaderError(f"repeated column(s): {', '.join(repeated)}")
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    if missing:
        raise CsvHeaderError(f"missing required column(s): {', '.join(missing)}")
    return header


def rejected_cells(record: Mapping[str, str]) -> dict[str, str]:
    """A record's cells as a rejects file may hold them: the raw customer id replaced by its
    pseudonym (none for a blank id or one that was not UTF-8), NUL and bad bytes replaced,
    empty cells left out."""
    cells = {name: _UNWRITABLE.sub("\ufffd", value) for name, value in record.items() if value}
    raw_customer_id = record.get("customerId", "")
    cells.pop("customerId", None)
    if raw_customer_id.strip():
        with contextlib.suppress(UnicodeEncodeError):
            cells["customerPseudonym"] = pseudonymize(raw_customer_id)
    return cells
