"""Validation of incoming events, shared by the REST batch and the CSV import.

Hand-written rather than a DRF serializer per row: a million-line import validates every row
in Python, and a serializer's per-field machinery costs several times more than these checks.

Error messages name the field (in the API's camelCase) and never repeat an input value: a
customer id must not reach a response, a log line or a rejects file, and the safest way to keep
it out is to echo nothing at all.

Decisions a client can rely on:
- an unknown key is an error naming the key (a typo such as "ammount" must not pass silently);
- `amount` is a JSON number or a numeric string ("12.50"), >= 0, at most 2 decimal places; a
  negative amount is "must not be negative" whether it came as a number or as text (a text
  amount with a minus sign, "-0" included);
- `quantity` is a JSON integer (a CSV cell of digits), 1 to 10,000, and defaults to 1;
- `occurredAt` must carry its offset: a naive time would be guessed in the wrong zone; it may
  not be before 1990-01-01 (UTC), which catches epoch-zero and year-0001 mistakes;
- short text fields (ids, category, channel, campaign) refuse control characters: a customer id
  holding a newline could never be named in a URL path;
- null and, in a CSV file, an empty cell mean "absent".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from customer_intel.analytics.vocabulary import MAX_CUSTOMER_ID_LENGTH
from customer_intel.models import EventType, Venue
from customer_intel.privacy import pseudonymize

EVENT_TYPES = frozenset(EventType.values)
PAYING_TYPES = frozenset({EventType.TICKET_PURCHASED.value, EventType.TICKET_REFUNDED.value})

MAX_EVENT_ID_LENGTH = 128
MAX_EVENT_CATEGORY_LENGTH = 64
MAX_CHANNEL_LENGTH = 64
MAX_CAMPAIGN_LENGTH = 128
MAX_OCCURRED_AT_LENGTH = 64
MAX_CURRENCY_LENGTH = 3
MAX_AMOUNT_TEXT_LENGTH = 32
MAX_PROPERTIES_BYTES = 4096
MAX_QUANTITY = 10_000
# Below the column's 12 integer digits, and far above any real ticket order.
AMOUNT_LIMIT = Decimal("1e10")
CENT = Decimal("0.01")

EVENT_FIELDS = (
    "eventId",
    "customerId",
    "type",
    "occurredAt",
    "amount",
    "quantity",
    "currency",
    "eventCategory",
    "channel",
    "campaign",
    "properties",
)
REQUIRED_FIELDS = ("eventId", "customerId", "type", "occurredAt")
_KNOWN_FIELDS = frozenset(EVENT_FIELDS)

# PostgreSQL refuses NUL in text and unpaired surrogates in any string; a CSV file that is not
# valid UTF-8 is decoded with surrogateescape, so its bad bytes land in the same range.
_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")
# Unicode's control characters (category Cc), refused in short text fields.
CONTROL_CHARS = "\x00-\x1f\x7f-\x9f"
_CONTROL_CHARS = re.compile(f"[{CONTROL_CHARS}]")
# What str.strip() removes (str.isspace()), spelled out so SQL can apply the same "blank" rule.
WHITESPACE_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
EARLIEST_OCCURRED_AT = datetime(1990, 1, 1, tzinfo=UTC)
# json.dumps always writes NUL as the escape \u0000 (preceded by an odd number of backslashes).
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
AMOUNT_TEXT_PATTERN = r"-?[0-9]+(?:\.[0-9]+)?"
_AMOUNT_TEXT = re.compile(AMOUNT_TEXT_PATTERN)
QUANTITY_TEXT_PATTERN = r"[0-9]{1,9}"
_QUANTITY_TEXT = re.compile(QUANTITY_TEXT_PATTERN)
# An unknown key is named in the error only when it looks like a field name, so a stray value
# used as a key is never echoed back.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_INVALID_JSON = object()

# Messages the set-based validation of a file (services.event_copy) gives too.
REQUIRED_MESSAGE = "is required"
BLANK_MESSAGE = "must not be blank"
CONTROL_CHARS_MESSAGE = "must not contain control characters"
TYPE_MESSAGE = "must be one of " + ", ".join(sorted(EVENT_TYPES))
DATE_TIME_MESSAGE = "must be an ISO-8601 date-time"
TOO_EARLY_MESSAGE = "must not be before 1990-01-01"
AMOUNT_TEXT_MESSAGE = "must be a decimal number such as 12.50"
NEGATIVE_MESSAGE = "must not be negative"
AMOUNT_LIMIT_MESSAGE = "must be less than 10000000000"
AMOUNT_PLACES_MESSAGE = "must have at most 2 decimal places"
INTEGER_MESSAGE = "must be an integer"
QUANTITY_RANGE_MESSAGE = f"must be between 1 and {MAX_QUANTITY}"


def too_long_message(max_length: int) -> str:
    return f"must be at most {max_length} characters"


def amount_required_message(event_type: str) -> str:
    return f"is required for {event_type}"


def currency_message(venue_currency: str) -> str:
    return f"must be the venue's currency ({venue_currency})"


def future_message(max_future: timedelta) -> str:
    return f"must not be more than {int(max_future.total_seconds() // 60)} minutes in the future"


@dataclass(frozen=True, slots=True)
class ValidatedEvent:
    """One valid event, ready to store; `customer` is already the pseudonym."""

    event_id: str
    customer: str
    type: str
    occurred_at: datetime
    amount: Decimal | None
    quantity: int
    event_category: str = ""
    channel: str = ""
    campaign: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    # `properties` as JSON text, serialized once during validation (its size is checked on it).
    properties_json: str = "{}"


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem with one row: its position in the input, the camelCase field, what is wrong."""

    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class _RowInvalid(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


def validate_event_rows(
    *, venue: Venue, rows: Sequence[object], now: datetime
) -> tuple[list[ValidatedEvent], list[RowError]]:
    """Validate decoded JSON rows: the valid events (pseudonymized) and every bad row's error.

    Each bad row reports its first problem, and every bad row is reported, so a client fixing a
    batch sees all of them at once. `now` bounds how far in the future `occurredAt` may be.
    """
    return _validate(venue=venue, rows=rows, now=now, from_text=False)


def validate_csv_records(
    *, venue: Venue, records: Sequence[Mapping[str, str]], now: datetime
) -> tuple[list[ValidatedEvent], list[RowError]]:
    """Validate CSV records (column name → text): like `validate_event_rows`, with the text
    forms a file carries — empty cells are absent, quantity is digits, properties JSON text."""
    return _validate(venue=venue, rows=records, now=now, from_text=True)


def _validate(
    *, venue: Venue, rows: Sequence[object], now: datetime, from_text: bool
) -> tuple[list[ValidatedEvent], list[RowError]]:
    max_future: timedelta = settings.INGEST_MAX_FUTURE
    latest_allowed = now + max_future
    too_late_message = future_message(max_future)
    currency = venue.currency.upper()
    valid: list[ValidatedEvent] = []
    errors: list[RowError] = []
    for index, row in enumerate(rows):
        try:
            if from_text:
                row = _from_text(row)
            valid.append(
                _validate_row(
                    row,
                    currency=currency,
                    latest_allowed=latest_allowed,
                    too_late_message=too_late_message,
                )
            )
        except _RowInvalid as problem:
            errors.append(RowError(index, problem.field_name, problem.message))
    return valid, errors


def _from_text(record: object) -> dict[str, Any]:
    if not isinstance(record, Mapping):
        raise _RowInvalid("event", "must be an object")
    row: dict[str, Any] = {}
    for name, value in record.items():
        if value == "":
            continue
        if name == "quantity" and _QUANTITY_TEXT.fullmatch(value):
            value = int(value)
        elif name == "properties":
            value = _parse_properties_text(value)
        row[name] = value
    return row


def _parse_properties_text(text: str) -> Any:
    if len(text) > MAX_PROPERTIES_BYTES:
        raise _RowInvalid("properties", f"must be at most {MAX_PROPERTIES_BYTES} bytes")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return _INVALID_JSON


def csv_properties_json(text: str) -> tuple[str | None, str | None]:
    """A CSV `properties` cell at most MAX_PROPERTIES_BYTES long as the JSON text to store, or
    the message of its problem. Python owns the JSON rules (NaN, escapes, re-serialized size),
    so a file's set-based validation asks here."""
    try:
        return _properties(_parse_properties_text(text))[1], None
    except _RowInvalid as problem:
        return None, problem.message


def _reject_constant(_name: str) -> None:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError("not JSON")


def _validate_row(
    row: object, *, currency: str, latest_allowed: datetime, too_late_message: str
) -> ValidatedEvent:
    if not isinstance(row, Mapping):
        raise _RowInvalid("event", "must be an object")
    for key in row:
        if key not in _KNOWN_FIELDS:
            name = key if isinstance(key, str) and _FIELD_NAME.fullmatch(key) else "(unknown)"
            raise _RowInvalid(name, "is not a known event field")
    for name in REQUIRED_FIELDS:
        if row.get(name) is None:
            raise _RowInvalid(name, REQUIRED_MESSAGE)

    event_id = _text(row, "eventId", MAX_EVENT_ID_LENGTH, required=True)
    customer_id = _text(row, "customerId", MAX_CUSTOMER_ID_LENGTH, required=True)
    event_type = row["type"]
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        raise _RowInvalid("type", TYPE_MESSAGE)
    occurred_at = _occurred_at(row["occurredAt"], latest_allowed, too_late_message)
    amount = _amount(row.get("amount"))
    if amount is None and event_type in PAYING_TYPES:
        raise _RowInvalid("amount", amount_required_message(event_type))
    quantity = _quantity(row.get("quantity"))
    _currency(row.get("currency"), currency)
    event_category = _text(row, "eventCategory", MAX_EVENT_CATEGORY_LENGTH)
    channel = _text(row, "channel", MAX_CHANNEL_LENGTH)
    campaign = _text(row, "campaign", MAX_CAMPAIGN_LENGTH)
    properties, properties_json = _properties(row.get("properties"))

    return ValidatedEvent(
        event_id=event_id,
        # Hashed here, right after validation: nothing downstream ever holds the raw id.
        customer=pseudonymize(customer_id),
        type=event_type,
        occurred_at=occurred_at,
        amount=amount,
        quantity=quantity,
        event_category=event_category,
        channel=channel,
        campaign=campaign,
        properties=properties,
        properties_json=properties_json,
    )


def _text(row: Mapping[str, Any], name: str, max_length: int, *, required: bool = False) -> str:
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _RowInvalid(name, "must be a string")
    if required and not value.strip():
        raise _RowInvalid(name, BLANK_MESSAGE)
    if len(value) > max_length:
        raise _RowInvalid(name, too_long_message(max_length))
    if _UNSTORABLE_CHARS.search(value):
        raise _RowInvalid(name, "contains characters that cannot be stored")
    if _CONTROL_CHARS.search(value):
        raise _RowInvalid(name, CONTROL_CHARS_MESSAGE)
    return value


def _occurred_at(value: object, latest_allowed: datetime, too_late_message: str) -> datetime:
    if not isinstance(value, str):
        raise _RowInvalid("occurredAt", "must be an ISO-8601 date-time string")
    if len(value) > MAX_OCCURRED_AT_LENGTH:
        raise _RowInvalid("occurredAt", too_long_message(MAX_OCCURRED_AT_LENGTH))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _RowInvalid("occurredAt", DATE_TIME_MESSAGE) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _RowInvalid("occurredAt", "must include a time zone offset (e.g. Z or +02:00)")
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise _RowInvalid("occurredAt", "is out of range") from None
    if parsed > latest_allowed:
        raise _RowInvalid("occurredAt", too_late_message)
    if parsed < EARLIEST_OCCURRED_AT:
        raise _RowInvalid("occurredAt", TOO_EARLY_MESSAGE)
    return parsed


def _amount(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _RowInvalid("amount", "must be a number")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        # repr() of a float is the shortest text that round-trips, so 12.5 stays 12.5.
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if len(value) > MAX_AMOUNT_TEXT_LENGTH or not _AMOUNT_TEXT.fullmatch(text):
            raise _RowInvalid("amount", AMOUNT_TEXT_MESSAGE)
        if text.startswith("-"):
            # "-0.00" too: a sign on a text amount is a refund written the wrong way round.
            raise _RowInvalid("amount", NEGATIVE_MESSAGE)
        amount = Decimal(text)
    else:
        raise _RowInvalid("amount", "must be a number")
    if not amount.is_finite():
        raise _RowInvalid("amount", "must be a finite number")
    if amount < 0:
        raise _RowInvalid("amount", NEGATIVE_MESSAGE)
    if amount >= AMOUNT_LIMIT:
        raise _RowInvalid("amount", AMOUNT_LIMIT_MESSAGE)
    # Below the limit, quantizing to cents cannot overflow the default 28-digit context.
    cents = amount.quantize(CENT)
    if amount != cents:
        raise _RowInvalid("amount", AMOUNT_PLACES_MESSAGE)
    return cents


def _quantity(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        raise _RowInvalid("quantity", INTEGER_MESSAGE)
    if value < 1 or value > MAX_QUANTITY:
        raise _RowInvalid("quantity", QUANTITY_RANGE_MESSAGE)
    return value


def _currency(value: object, venue_currency: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _RowInvalid("currency", "must be a string")
    if len(value) > MAX_CURRENCY_LENGTH or value.upper() != venue_currency:
        raise _RowInvalid("currency", currency_message(venue_currency))


def _properties(value: object) -> tuple[dict[str, Any], str]:
    if value is None:
        return {}, "{}"
    if value is _INVALID_JSON:
        raise _RowInvalid("properties", "must be valid JSON")
    if not isinstance(value, dict):
        raise _RowInvalid("properties", "must be a JSON object")
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        raise _RowInvalid("properties", "must be a JSON object") from None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PROPERTIES_BYTES:
        raise _RowInvalid("properties", f"must be at most {MAX_PROPERTIES_BYTES} bytes as JSON")
    if _UNSTORABLE_CHARS.search(text) or _ESCAPED_NUL.search(text):
        raise _RowInvalid("properties", "contains characters that cannot be stored")
    return value, text
