"""Row validation on its own (no database): accepted forms, defaults, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customer_intel.models import Venue
from customer_intel.privacy import pseudonymize
from customer_intel.services.event_validation import validate_csv_records, validate_event_rows

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VENUE = Venue(currency="EUR")


def _row(**fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "eventId": "e-1",
        "customerId": "raw-42",
        "type": "ticket.purchased",
        "occurredAt": "2026-02-28T20:00:00+01:00",
        "amount": "10.00",
    }
    row.update(fields)
    return row


def _one(row: object):  # type: ignore[no-untyped-def]
    valid, errors = validate_event_rows(venue=VENUE, rows=[row], now=NOW)
    return (valid[0] if valid else None), [(e.field, e.message) for e in errors]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(45, "45.00"), (45.5, "45.50"), (19.99, "19.99"), ("0", "0.00"), (" 7.1 ", "7.10"),
     ("9999999999.99", "9999999999.99")],
)  # fmt: skip
def test_amount_accepts_numbers_and_numeric_strings(amount, expected):
    event, errors = _one(_row(amount=amount))

    assert errors == []
    assert event.amount == Decimal(expected)


def test_defaults_and_normalisation():
    event, _ = _one(_row(currency="eur"))

    assert event.quantity == 1
    assert event.customer == pseudonymize("raw-42")
    assert event.occurred_at == datetime(2026, 2, 28, 19, 0, tzinfo=UTC)
    assert (event.event_category, event.channel, event.campaign, event.properties) == (
        "", "", "", {},
    )  # fmt: skip


def test_occurred_at_may_be_up_to_the_future_limit(settings):
    limit = settings.INGEST_MAX_FUTURE
    at_limit = (NOW + limit).isoformat()
    beyond = (NOW + limit + timedelta(seconds=1)).isoformat()

    assert _one(_row(occurredAt=at_limit))[1] == []
    assert _one(_row(occurredAt=beyond))[1][0][0] == "occurredAt"


def test_engagement_events_need_no_amount():
    event, errors = _one(_row(type="email.opened", amount=None))

    assert errors == []
    assert event.amount is None


def test_properties_at_the_size_limit_pass_and_one_byte_more_fails():
    # {"k":"..."} is 8 bytes of JSON around the value.
    assert _one(_row(properties={"k": "x" * 4088}))[1] == []
    assert _one(_row(properties={"k": "x" * 4089}))[1][0][0] == "properties"


def test_messages_never_contain_the_input_value():
    secret = "SECRET-VALUE-1234"
    rows = [
        _row(customerId=secret * 20),
        _row(type=secret),
        _row(amount=secret),
        _row(occurredAt=secret),
        _row(currency=secret),
        _row(quantity=secret),
    ]

    _, errors = validate_event_rows(venue=VENUE, rows=rows, now=NOW)

    assert len(errors) == len(rows)
    assert all(secret not in error.message and secret not in error.field for error in errors)


def test_csv_cells_are_text_and_empty_means_absent():
    record = {
        "eventId": "e-2",
        "customerId": "raw-42",
        "type": "ticket.refunded",
        "occurredAt": "2026-02-28T20:00:00Z",
        "amount": "5.5",
        "quantity": "3",
        "currency": "",
        "eventCategory": "",
        "channel": "",
        "campaign": "",
        "properties": '{"reason": "ill"}',
    }

    valid, errors = validate_csv_records(venue=VENUE, records=[record], now=NOW)

    assert errors == []
    assert (valid[0].quantity, valid[0].amount, valid[0].properties) == (
        3, Decimal("5.50"), {"reason": "ill"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("cells", "field"),
    [({"quantity": "2.0"}, "quantity"), ({"quantity": "-1"}, "quantity"),
     ({"properties": "[1]"}, "properties"), ({"properties": "NaN"}, "properties"),
     ({"properties": '{"a": NaN}'}, "properties"), ({"amount": ""}, "amount")],
)  # fmt: skip
def test_csv_cells_that_are_refused(cells, field):
    record = {"eventId": "e", "customerId": "c", "type": "ticket.purchased",
              "occurredAt": "2026-02-28T20:00:00Z", "amount": "1", **cells}  # fmt: skip

    _, errors = validate_csv_records(venue=VENUE, records=[record], now=NOW)

    assert [e.field for e in errors] == [field]


@pytest.mark.parametrize("amount", ["-5.00", "-5", " -0.01 ", "-0", -5, -0.5])
def test_a_negative_amount_is_negative_whether_text_or_number(amount):
    assert _one(_row(amount=amount))[1] == [("amount", "must not be negative")]


@pytest.mark.parametrize("amount", ["", "abc", "+5", "5.", "1e3"])
def test_amount_text_that_is_not_a_decimal_is_named(amount):
    assert _one(_row(amount=amount))[1] == [("amount", "must be a decimal number such as 12.50")]


@pytest.mark.parametrize("field", ["eventId", "customerId", "eventCategory", "channel", "campaign"])
@pytest.mark.parametrize("character", ["\n", "\r", "\t", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused_in_short_text_fields(field, character):
    assert _one(_row(**{field: f"a{character}b"}))[1] == [
        (field, "must not contain control characters")
    ]


@pytest.mark.parametrize(
    ("occurred_at", "accepted"),
    [
        ("1990-01-01T00:00:00Z", True),
        ("1990-01-01T00:30:00+01:00", False),
        ("1989-12-31T23:59:59Z", False),
        ("1970-01-01T00:00:00Z", False),
        ("0001-01-01T12:00:00Z", False),
    ],
)
def test_instants_before_1990_are_refused(occurred_at, accepted):
    errors = _one(_row(occurredAt=occurred_at))[1]

    assert errors == ([] if accepted else [("occurredAt", "must not be before 1990-01-01")])
