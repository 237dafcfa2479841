"""Shapes of the ingestion endpoint: the batch envelope, the documented event, the result.

The rows themselves are checked by `customer_intel.services.event_validation` (shared with the
CSV import); the event serializer here documents the contract in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator, RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customer_intel.analytics.vocabulary import MAX_CUSTOMER_ID_LENGTH
from customer_intel.models import EventType
from customer_intel.services import event_validation

_CONTROL = event_validation.CONTROL_CHARS
_SPACE = event_validation.WHITESPACE_CHARS
# Documented patterns of the rules in event_validation: no control characters anywhere, and a
# required id with at least one character that is not white space.
_NO_CONTROL = RegexValidator(f"^[^{_CONTROL}]*$")
_REQUIRED_TEXT = RegexValidator(f"^[^{_CONTROL}]*[^{_CONTROL}{_SPACE}][^{_CONTROL}]*$")


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "number",
                "minimum": 0,
                "maximum": 9_999_999_999.99,
                "multipleOf": 0.01,
            },
            {
                "type": "string",
                "maxLength": event_validation.MAX_AMOUNT_TEXT_LENGTH,
                # White space around, no sign, up to 10 integer digits (after leading zeros) and
                # at most 2 decimal places (trailing zeros aside).
                "pattern": f"^[{_SPACE}]*0*[0-9]{{1,10}}(\\.[0-9]{{1,2}}0*)?[{_SPACE}]*$",
            },
        ],
        "nullable": True,
    }
)
class AmountField(serializers.Field):
    """A JSON number or a numeric string, >= 0, below 10,000,000,000, at most 2 decimal places
    (documentation only: event_validation checks the rows)."""


class EventInSerializer(serializers.Serializer):
    """One event as a client sends it. Unknown keys are rejected, naming the key."""

    eventId = serializers.CharField(  # the JSON contract is camelCase
        max_length=event_validation.MAX_EVENT_ID_LENGTH,
        validators=[_REQUIRED_TEXT],
        help_text="Client-chosen id, unique per venue: the idempotency key.",
    )
    customerId = serializers.CharField(
        max_length=MAX_CUSTOMER_ID_LENGTH,
        validators=[_REQUIRED_TEXT],
        help_text="Raw customer id; stored only as its keyed pseudonym.",
    )
    type = serializers.ChoiceField(choices=EventType.choices)
    occurredAt = serializers.DateTimeField(
        help_text="ISO-8601 with a time zone offset; not before 1990-01-01, at most 5 minutes "
        "in the future."
    )
    amount = AmountField(
        required=False,
        allow_null=True,
        help_text="Required for ticket.purchased and ticket.refunded; a number or numeric string "
        '("12.50"), not negative.',
    )
    quantity = serializers.IntegerField(
        min_value=1, max_value=event_validation.MAX_QUANTITY, required=False, default=1
    )
    currency = serializers.CharField(
        max_length=3, required=False, allow_null=True, help_text="If given, the venue's currency."
    )
    eventCategory = serializers.CharField(
        max_length=event_validation.MAX_EVENT_CATEGORY_LENGTH,
        validators=[_NO_CONTROL],
        allow_blank=True,
        required=False,
        allow_null=True,
        help_text='The kind of show: "concert", "comedy", ...',
    )
    channel = serializers.CharField(
        max_length=event_validation.MAX_CHANNEL_LENGTH,
        validators=[_NO_CONTROL],
        allow_blank=True,
        required=False,
        allow_null=True,
    )
    campaign = serializers.CharField(
        max_length=event_validation.MAX_CAMPAIGN_LENGTH,
        validators=[_NO_CONTROL],
        allow_blank=True,
        required=False,
        allow_null=True,
    )
    properties = serializers.DictField(
        required=False,
        allow_null=True,
        help_text=(
            f"A JSON object of at most {event_validation.MAX_PROPERTIES_BYTES} bytes serialized."
        ),
    )


class EventBatchSerializer(serializers.Serializer):
    """The request body: a non-empty list of at most INGEST_MAX_BATCH events."""

    # For the schema (minItems, maxItems): `events_from_body` checks the same bounds with
    # their own messages. The setting is read when the schema is made, not at import.
    events = serializers.ListField(
        child=EventInSerializer(),
        validators=[
            MinLengthValidator(1),
            MaxLengthValidator(lambda: settings.INGEST_MAX_BATCH),
        ],
    )


class IngestResultSerializer(serializers.Serializer):
    """Events stored by this request, events skipped because their eventId was known, and
    events dropped because their customer is suppressed (erased with suppression)."""

    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    suppressed = serializers.IntegerField()


def batch_rows(data: Any) -> list[Any]:
    """The `events` list of a request body; a 400 naming the field when the envelope is wrong.

    The rows are returned as decoded JSON, unchecked: row validation reports each bad row by
    index, which a serializer's nested errors would not do as plainly.
    """
    if not isinstance(data, dict):
        raise serializers.ValidationError(
            {"events": ['The body must be a JSON object with an "events" list.']}
        )
    unknown = [key for key in data if key != "events"]
    if unknown:
        raise serializers.ValidationError({"body": ['Only "events" is allowed at the top level.']})
    events = data.get("events")
    if events is None:
        raise serializers.ValidationError({"events": ["This field is required."]})
    if not isinstance(events, list):
        raise serializers.ValidationError({"events": ["Must be a list of events."]})
    if not events:
        raise serializers.ValidationError({"events": ["Must contain at least one event."]})
    max_batch: int = settings.INGEST_MAX_BATCH
    if len(events) > max_batch:
        raise serializers.ValidationError(
            {"events": [f"Must contain at most {max_batch} events; split the batch."]}
        )
    return events
