"""The bulk COPY path of a CSV import gives exactly the REST batch path's answer.

One file holds every kind of bad row the validator knows (and rows whose first problem depends
on the order of the checks); it is imported into one venue through COPY and set-based SQL and
into another through the REST batch's validation and insert, and everything is compared: the
summary, each rejected row (line, field, message, cells) and the stored events.
"""

from __future__ import annotations

import csv
import io

import pytest

from customer_intel.models import CustomerEvent, PendingCustomer
from customer_intel.services.csv_import import events_import_batched
from customer_intel.services.csv_records import CsvReader, CsvRejectedRow
from customer_intel.services.event_copy import events_copy
from customer_intel.services.event_validation import EVENT_FIELDS
from tests.factories import VenueFactory

GOOD = {
    "eventId": "ok",
    "customerId": "cust-1",
    "type": "ticket.purchased",
    "occurredAt": "2026-01-05T20:00:00Z",
    "amount": "30.00",
    "quantity": "2",
    "currency": "USD",
    "eventCategory": "comedy",
    "channel": "email",
    "campaign": "spring",
    "properties": '{"seat": "B2"}',
}

# (cells that differ from GOOD); each becomes one line, its eventId numbered unless given.
VARIANTS: list[dict[str, str]] = [
    {},
    {"eventId": ""},
    {"eventId": "   "},
    {"eventId": "\u3000\u00a0"},
    {"eventId": "e" * 128},
    {"eventId": "e" * 129},
    {"eventId": "bell\x07"},
    {"eventId": "two\nlines"},
    {"eventId": "nul\x00id"},
    {"eventId": "", "customerId": ""},
    {"customerId": ""},
    {"customerId": "  "},
    {"customerId": "c" * 256},
    {"customerId": "c" * 257},
    {"customerId": "tab\tid"},
    {"customerId": "line\nid"},
    {"customerId": "\u0085next-line"},
    {"customerId": "café-ünïcode"},
    {"eventId": "\x01", "customerId": "\x02"},
    {"type": ""},
    {"type": "nope"},
    {"type": "ticket.purchased "},
    {"type": "page.viewed", "amount": ""},
    {"type": "ticket.refunded", "amount": ""},
    {"type": "nope", "occurredAt": "yesterday"},
    {"occurredAt": ""},
    {"occurredAt": "2026-01-03 20:00"},
    {"occurredAt": "2026-01-03 20:00:00+01:00"},
    {"occurredAt": "2026-01-03T20:00:00+0100"},
    {"occurredAt": "2026-01-03T20:00+01:00"},
    {"occurredAt": "2026-01-03T20Z"},
    {"occurredAt": "2026-01-03T20:00:00z"},
    {"occurredAt": "2026-01-03T20:00:00.5Z"},
    {"occurredAt": "2026-01-03T20:00:00.123456+05:30"},
    {"occurredAt": "2026-01-03T20:00:00.1234567Z"},
    {"occurredAt": "2026-01-03T20:00:00,5Z"},
    {"occurredAt": "2026-02-29T00:00:00Z"},
    {"occurredAt": "2024-02-29T00:00:00Z"},
    {"occurredAt": "2000-02-29T00:00:00Z"},
    {"occurredAt": "2100-02-29T00:00:00Z"},
    {"occurredAt": "2026-04-31T00:00:00Z"},
    {"occurredAt": "2026-13-01T00:00:00Z"},
    {"occurredAt": "2026-01-01T24:00:00Z"},
    {"occurredAt": "2026-01-01T23:59:60Z"},
    {"occurredAt": "2026-01-01T00:00:00+15:59"},
    {"occurredAt": "2026-01-01T00:00:00+16:00"},
    {"occurredAt": "2026-01-01T00:00:00+23:59"},
    {"occurredAt": "2026-01-01T00:00:00+01:30:15"},
    {"occurredAt": "2026-W01-1T10:00:00Z"},
    {"occurredAt": " 2026-01-01T00:00:00Z"},
    {"occurredAt": "2026-01-01T00:00:00Z\n"},
    {"occurredAt": "1990-01-01T00:00:00Z"},
    {"occurredAt": "1990-01-01T00:30:00+01:00"},
    {"occurredAt": "1989-12-31T23:59:59Z"},
    {"occurredAt": "1970-01-01T00:00:00Z"},
    {"occurredAt": "0001-01-01T00:00:00+01:00"},
    {"occurredAt": "2099-01-01T00:00:00Z"},
    {"occurredAt": "x" * 65},
    {"amount": "-5.00"},
    {"amount": "-5"},
    {"amount": "-0"},
    {"amount": "-0.00"},
    {"amount": " 7.1 "},
    {"amount": "\u00a07.10\u3000"},
    {"amount": "12.345"},
    {"amount": "12.340"},
    {"amount": "1e3"},
    {"amount": "+5"},
    {"amount": "5."},
    {"amount": ".5"},
    {"amount": "9999999999.99"},
    {"amount": "10000000000"},
    {"amount": "-10000000000.001"},
    {"amount": "abc"},
    {"amount": "1" * 33},
    {"amount": "0" * 30 + "1.5"},
    {"amount": "\u0663"},
    {"amount": "NaN"},
    {"amount": "bad", "quantity": "bad"},
    {"quantity": ""},
    {"quantity": "0"},
    {"quantity": "10000"},
    {"quantity": "10001"},
    {"quantity": "0001"},
    {"quantity": "1234567890"},
    {"quantity": "1.5"},
    {"quantity": " 1"},
    {"quantity": "-1"},
    {"currency": ""},
    {"currency": "usd"},
    {"currency": "UsD"},
    {"currency": "EUR"},
    {"currency": "USDX"},
    {"currency": "u\u017fd"},
    {"currency": "\u00dcSD"},
    {"eventCategory": "c" * 64},
    {"eventCategory": "c" * 65},
    {"eventCategory": "théâtre"},
    {"eventCategory": "cr\r"},
    {"eventCategory": "  "},
    {"channel": "w" * 65},
    {"channel": "\x7fdel"},
    {"campaign": "k" * 129},
    {"campaign": '=HYPERLINK("x")'},
    {"campaign": "\x9fc1"},
    {"properties": ""},
    {"properties": "{not json"},
    {"properties": "[]"},
    {"properties": "null"},
    {"properties": "NaN"},
    {"properties": '{"a": NaN}'},
    {"properties": '{"a": "\\u0000"}'},
    {"properties": '{"a": "\\ud800"}'},
    {"properties": '{"a": "\x00"}'},
    {"properties": '{"k": "' + "x" * 4087 + '"}'},
    {"properties": '{"k":  "' + "x" * 4080 + '"}'},
    {"properties": '{"k": "' + "é" * 2100 + '"}'},
    {"properties": '{"k": "' + "x" * 5000 + '"}'},
    {"properties": '{"k": "' + "x" * 5000 + '"}', "eventId": ""},
    {"type": "nope", "properties": "{bad"},
    {"channel": "x" * 65, "properties": "{bad"},
    {"eventId": "dup-a"},
    {"eventId": "dup-a", "amount": "99.00"},
    {"eventId": "dup-b", "amount": "-1"},
    {"eventId": "dup-b"},
    {"type": "ticket.refunded", "customerId": "refunder", "amount": "500.00"},
    {"type": "ticket.purchased", "customerId": "refunder", "amount": "20.00"},
    {"type": "ticket.refunded", "customerId": "cust-1", "amount": "1.00"},
]


def _file_bytes() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_FIELDS)
    for n, variant in enumerate(VARIANTS):
        cells = {**GOOD, "eventId": f"row-{n:04d}", **variant}
        writer.writerow([cells[name] for name in EVENT_FIELDS])
        if n == 3:
            buffer.write("\n")  # a blank line still counts in the line numbers
    data = buffer.getvalue().encode("utf-8")
    bad_bytes = b"bytes-1,caf\xe9,page.viewed,2026-01-01T00:00:00Z,,,,,,,\n"
    bad_bytes_late = b"bytes-2,ok-id,page.viewed,2026-01-01T00:00:00Z,,,,,,\xff,\n"
    short = b"short-1,raw-short,page.viewed\n"
    long = b"long-1,raw-long,page.viewed,2026-01-01T00:00:00Z,,,,,,,,extra\n"
    unterminated = b'open-1,raw-open,page.viewed,2026-01-01T00:00:00Z,,,,,,,"{\n'
    return data + bad_bytes + bad_bytes_late + short + long + unterminated


def _import(path_kind: str, venue, data: bytes, batch_size: int):  # type: ignore[no-untyped-def]
    rejected: list[CsvRejectedRow] = []
    reader = CsvReader(io.BytesIO(data))
    if path_kind == "copy":
        summary = events_copy(
            venue=venue, reader=reader, chunk_rows=batch_size, on_rejected=rejected.append
        )
    else:
        summary = events_import_batched(
            venue=venue,
            reader=reader,
            batch_size=batch_size,
            on_rejected=rejected.append,
            on_batch=None,
        )
    return summary, rejected


def _stored(venue) -> list[tuple]:  # type: ignore[no-untyped-def]
    return list(
        CustomerEvent.objects.filter(venue=venue)
        .order_by("event_id")
        .values_list(
            "event_id", "customer", "type", "occurred_at", "amount", "quantity",
            "event_category", "channel", "campaign", "properties",
        )
    )  # fmt: skip


@pytest.mark.parametrize("batch_size", [1_000, 7])
def test_copy_and_rest_paths_give_the_same_answer(db, batch_size):
    data = _file_bytes()
    rest_venue, copy_venue = VenueFactory(currency="USD"), VenueFactory(currency="USD")

    rest_summary, rest_rejected = _import("rest", rest_venue, data, batch_size)
    copy_summary, copy_rejected = _import("copy", copy_venue, data, batch_size)

    assert copy_summary == rest_summary
    assert [(r.line, r.field, r.message) for r in copy_rejected] == [
        (r.line, r.field, r.message) for r in rest_rejected
    ]
    assert [dict(r.cells) for r in copy_rejected] == [dict(r.cells) for r in rest_rejected]
    assert _stored(copy_venue) == _stored(rest_venue)
    assert set(
        PendingCustomer.objects.filter(venue=copy_venue).values_list("customer", flat=True)
    ) == set(PendingCustomer.objects.filter(venue=rest_venue).values_list("customer", flat=True))
    # The file exercises what it claims to: both outcomes, several messages, the refund case.
    assert rest_summary.accepted > 40
    assert rest_summary.duplicates == 1  # dup-a; dup-b's first line is rejected
    assert rest_summary.rejected > 60
    assert len({r.message for r in rest_rejected}) > 20
    assert rest_summary.refunds_exceeding_purchases == 1

    # Importing the file again stores nothing and answers the same on both paths.
    rest_again, _ = _import("rest", rest_venue, data, batch_size)
    copy_again, _ = _import("copy", copy_venue, data, batch_size)
    assert copy_again == rest_again
    assert (copy_again.accepted, copy_again.duplicates) == (0, rest_summary.accepted + 1)
    assert _stored(copy_venue) == _stored(rest_venue)


def test_copy_path_messages_for_the_new_rules(db):
    venue = VenueFactory(currency="USD")
    lines = [
        ",".join(EVENT_FIELDS),
        "a,c1,ticket.purchased,2026-01-05T20:00:00Z,-5.00,,,,,,",
        "b,c1,ticket.purchased,1970-01-01T00:00:00Z,5.00,,,,,,",
        'c,"c1\nc2",ticket.purchased,2026-01-05T20:00:00Z,5.00,,,,,,',
        "d,c1,ticket.purchased,2026-01-05T20:00:00Z,5.00,,,con\tcert,,,",
    ]
    data = ("\n".join(lines) + "\n").encode()

    _, rejected = _import("copy", venue, data, 100)

    assert [(r.line, r.field, r.message) for r in rejected] == [
        (2, "amount", "must not be negative"),
        (3, "occurredAt", "must not be before 1990-01-01"),
        (4, "customerId", "must not contain control characters"),
        (6, "eventCategory", "must not contain control characters"),
    ]
