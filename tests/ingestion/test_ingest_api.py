"""POST /events/venue/{venueId}: validation, all-or-nothing storage, idempotency, access."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from customer_intel.models import CustomerEvent, PendingCustomer
from customer_intel.privacy import pseudonymize
from tests.ingestion.conftest import event_payload, table_counts

RAW_ID = "raw-customer-7f3c@example.org"
MISSING = object()


def _future() -> str:
    return (timezone.now() + timedelta(minutes=10)).isoformat()


# (case id, overrides of row 1, field the error must name)
BAD_ROWS = [
    ("no event id", {"eventId": MISSING}, "eventId"),
    ("null event id", {"eventId": None}, "eventId"),
    ("blank event id", {"eventId": "  "}, "eventId"),
    ("event id not a string", {"eventId": 7}, "eventId"),
    ("event id too long", {"eventId": "e" * 129}, "eventId"),
    ("event id with NUL", {"eventId": "evt\x00x"}, "eventId"),
    ("no customer id", {"customerId": MISSING}, "customerId"),
    ("customer id too long", {"customerId": "c" * 257}, "customerId"),
    ("customer id not a string", {"customerId": 12345}, "customerId"),
    ("no type", {"type": MISSING}, "type"),
    ("unknown type", {"type": "ticket.bought"}, "type"),
    ("type not a string", {"type": 5}, "type"),
    ("no occurredAt", {"occurredAt": MISSING}, "occurredAt"),
    ("occurredAt not a date", {"occurredAt": "yesterday"}, "occurredAt"),
    ("occurredAt naive", {"occurredAt": "2026-01-15T19:30:00"}, "occurredAt"),
    ("occurredAt a number", {"occurredAt": 1736970000}, "occurredAt"),
    ("occurredAt in the future", {"occurredAt": _future}, "occurredAt"),
    ("purchase without amount", {"amount": MISSING}, "amount"),
    ("refund without amount", {"type": "ticket.refunded", "amount": None}, "amount"),
    ("negative amount", {"amount": -1}, "amount"),
    ("three decimals", {"amount": "12.345"}, "amount"),
    ("three decimals as number", {"amount": 12.345}, "amount"),
    ("amount true", {"amount": True}, "amount"),
    ("amount text", {"amount": "abc"}, "amount"),
    ("amount a list", {"amount": [1]}, "amount"),
    ("amount too large", {"amount": 10_000_000_000}, "amount"),
    ("amount exponent text", {"amount": "1e3"}, "amount"),
    ("quantity zero", {"quantity": 0}, "quantity"),
    ("quantity text", {"quantity": "abc"}, "quantity"),
    ("quantity fraction", {"quantity": 1.5}, "quantity"),
    ("quantity true", {"quantity": True}, "quantity"),
    ("quantity too large", {"quantity": 10_001}, "quantity"),
    ("other currency", {"currency": "EUR"}, "currency"),
    ("currency not a string", {"currency": 840}, "currency"),
    ("category too long", {"eventCategory": "x" * 65}, "eventCategory"),
    ("channel too long", {"channel": "x" * 65}, "channel"),
    ("campaign too long", {"campaign": "x" * 129}, "campaign"),
    ("campaign not a string", {"campaign": ["a"]}, "campaign"),
    ("properties a list", {"properties": [1, 2]}, "properties"),
    ("properties text", {"properties": "seat A1"}, "properties"),
    ("properties too big", {"properties": {"notes": "n" * 4100}}, "properties"),
    ("properties with NUL", {"properties": {"note": "a\x00b"}}, "properties"),
    ("unknown key", {"colour": "red"}, "colour"),
    ("customer id with a newline", {"customerId": RAW_ID + "\n"}, "customerId"),
    ("customer id with a tab", {"customerId": "a\tb"}, "customerId"),
    ("category with a carriage return", {"eventCategory": "con\rcert"}, "eventCategory"),
    ("occurredAt in 1970", {"occurredAt": "1970-01-01T00:00:00Z"}, "occurredAt"),
    ("occurredAt in year 1", {"occurredAt": "0001-01-01T00:00:00Z"}, "occurredAt"),
    ("negative amount as text", {"amount": "-5.00"}, "amount"),
    ("empty amount text", {"amount": ""}, "amount"),
]


def _row(overrides: dict) -> dict:
    row = event_payload(1, customerId=RAW_ID)
    for key, value in overrides.items():
        if value is MISSING:
            row.pop(key)
        else:
            row[key] = value() if callable(value) else value
    return row


@pytest.mark.parametrize(
    ("overrides", "field"), [c[1:] for c in BAD_ROWS], ids=[c[0] for c in BAD_ROWS]
)
def test_a_bad_row_is_a_400_naming_index_and_field_and_nothing_is_stored(
    post_batch, overrides, field
):
    before = table_counts()

    response = post_batch([event_payload(0), _row(overrides)])

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_batch"
    assert error["details"] == [
        {"index": 1, "field": field, "message": error["details"][0]["message"]}
    ]
    assert error["details"][0]["message"]
    assert RAW_ID.encode() not in response.content
    assert table_counts() == before


def test_an_event_that_is_not_an_object_is_a_row_error(post_batch):
    response = post_batch([event_payload(0), "evt-1", None])

    assert response.status_code == 400
    assert [(d["index"], d["field"]) for d in response.json()["error"]["details"]] == [
        (1, "event"),
        (2, "event"),
    ]
    assert table_counts() == (0, 0)


def test_every_bad_row_is_listed(post_batch):
    events = [event_payload(n) for n in range(6)]
    events[1]["quantity"] = 0
    events[3].pop("type")
    events[5]["amount"] = "-3"

    response = post_batch(events)

    details = response.json()["error"]["details"]
    assert [(d["index"], d["field"]) for d in details] == [
        (1, "quantity"),
        (3, "type"),
        (5, "amount"),
    ]
    assert table_counts() == (0, 0)


@pytest.mark.parametrize("field", ["customerId", "eventId", "campaign"])
def test_a_lone_surrogate_in_a_string_is_a_row_error(writer_client, ingest_url, field):
    row = json.dumps(event_payload(0, **{field: "SURROGATE"}))
    # JSON may spell an unpaired surrogate; Python's encoder would refuse to send one.
    body = '{"events": [' + row.replace('"SURROGATE"', '"abc\\ud800"') + "]}"

    response = writer_client.generic("POST", ingest_url, body.encode(), "application/json")

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == field
    assert table_counts() == (0, 0)


def test_an_unknown_key_that_is_not_a_name_is_not_echoed(post_batch):
    response = post_batch([{**event_payload(0), RAW_ID: 1}])

    assert response.json()["error"]["details"][0]["field"] == "(unknown)"
    assert RAW_ID.encode() not in response.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([event_payload(0)], "events"),
        ({}, "events"),
        ({"events": None}, "events"),
        ({"events": "evt-1"}, "events"),
        ({"events": {"0": event_payload(0)}}, "events"),
        ({"events": []}, "events"),
        ({"events": [event_payload(0)], "dryRun": True}, "body"),
    ],
    ids=[
        "a list",
        "no events",
        "null events",
        "events text",
        "events object",
        "empty",
        "extra key",
    ],
)
def test_a_bad_envelope_is_a_400_naming_the_field(post_batch, body, field):
    response = post_batch(None, body=body)

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert table_counts() == (0, 0)


def test_a_batch_over_the_limit_is_refused(post_batch, settings):
    settings.INGEST_MAX_BATCH = 3

    response = post_batch([event_payload(n) for n in range(4)])

    assert response.status_code == 400
    assert "events" in response.json()["error"]["details"]
    assert table_counts() == (0, 0)


@pytest.mark.parametrize(
    "raw_body",
    [b"{not json", b'{"events": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", b'{"events": NaN}'],
    ids=["broken", "deeply nested", "NaN"],
)
def test_unparseable_json_is_a_400(writer_client, ingest_url, raw_body):
    response = writer_client.generic("POST", ingest_url, raw_body, "application/json")

    assert response.status_code == 400
    assert response.json()["error"]["status"] == 400
    assert table_counts() == (0, 0)


def test_a_valid_batch_is_stored_with_pseudonyms_and_marks_its_customers(post_batch, venue):
    events = [
        event_payload(0, customerId=RAW_ID),
        event_payload(1, customerId=RAW_ID, type="ticket.scanned", amount=None, quantity=None),
        event_payload(2, customerId="someone-else", amount=45.5, currency="usd"),
        event_payload(
            3,
            customerId="someone-else",
            type="page.viewed",
            properties=None,
            amount=MISSING,
            occurredAt="2026-01-15T18:00:00Z",
        ),
    ]
    events[3].pop("amount")
    for key in ("quantity", "eventCategory", "channel", "campaign", "currency"):
        events[1].pop(key)

    response = post_batch(events)

    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 4, "duplicates": 0}
    stored = {e.event_id: e for e in CustomerEvent.objects.filter(venue=venue)}
    assert stored["evt-000000"].customer == pseudonymize(RAW_ID)
    assert stored["evt-000000"].amount == 45
    assert stored["evt-000000"].quantity == 2
    assert stored["evt-000000"].properties == {"seat": "A1"}
    assert stored["evt-000001"].quantity == 1
    assert stored["evt-000001"].amount is None
    assert stored["evt-000001"].channel == ""
    assert str(stored["evt-000002"].amount) == "45.50"
    assert stored["evt-000003"].occurred_at.isoformat() == "2026-01-15T18:00:00+00:00"
    assert not CustomerEvent.objects.filter(customer=RAW_ID).exists()
    assert set(PendingCustomer.objects.filter(venue=venue).values_list("customer", flat=True)) == {
        pseudonymize(RAW_ID),
        pseudonymize("someone-else"),
    }


def test_occurred_at_with_an_offset_is_stored_as_the_same_instant(post_batch, venue):
    post_batch([event_payload(0, occurredAt="2026-01-15T21:30:00+02:00")])

    stored = CustomerEvent.objects.get(venue=venue)
    assert stored.occurred_at.isoformat() == "2026-01-15T19:30:00+00:00"


def test_duplicates_within_a_batch_keep_the_first_occurrence(post_batch, venue):
    response = post_batch(
        [
            event_payload(0, amount="10.00"),
            event_payload(0, amount="99.00", customerId="other"),
            event_payload(1),
        ]
    )

    assert response.json() == {"accepted": 2, "duplicates": 1}
    assert CustomerEvent.objects.get(venue=venue, event_id="evt-000000").amount == 10


def test_replaying_a_full_batch_stores_it_once(post_batch, venue, settings):
    events = [event_payload(n) for n in range(settings.INGEST_MAX_BATCH)]

    answers = [post_batch(events).json() for _ in range(10)]

    assert answers[0] == {"accepted": 5000, "duplicates": 0}
    assert answers[1:] == [{"accepted": 0, "duplicates": 5000}] * 9
    assert CustomerEvent.objects.filter(venue=venue).count() == 5000
    assert PendingCustomer.objects.filter(venue=venue).count() == 97


def test_a_replay_marks_no_customer_again(post_batch, venue):
    post_batch([event_payload(0)])
    PendingCustomer.objects.all().delete()  # as a recompute consuming the marks would

    assert post_batch([event_payload(0)]).json() == {"accepted": 0, "duplicates": 1}
    assert not PendingCustomer.objects.exists()


def test_a_new_event_refreshes_an_existing_mark(post_batch, venue):
    post_batch([event_payload(0)])
    mark = PendingCustomer.objects.get()
    PendingCustomer.objects.filter(pk=mark.pk).update(marked_at=mark.marked_at - timedelta(days=1))

    post_batch([event_payload(97)])  # same customer (n % 97)

    assert PendingCustomer.objects.get().marked_at > mark.marked_at - timedelta(days=1)


def test_the_same_event_id_at_another_venue_is_a_different_event(post_batch, writer, venue):
    from tests.factories import MembershipFactory, token_for

    other = MembershipFactory(user=writer, can_write=True).venue
    post_batch([event_payload(0)])

    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(writer)}")
    response = client.post(
        f"/events/venue/{other.pk}", {"events": [event_payload(0)]}, format="json"
    )

    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert CustomerEvent.objects.count() == 2


def test_no_token_is_401(anonymous_client, ingest_url):
    response = anonymous_client.post(ingest_url, {"events": [event_payload(0)]}, format="json")

    assert response.status_code == 401
    assert table_counts() == (0, 0)


def test_an_outsider_and_a_missing_venue_get_the_same_404(outsider_client, ingest_url):
    body = {"events": [event_payload(0)]}

    foreign = outsider_client.post(ingest_url, body, format="json")
    missing = outsider_client.post(f"/events/venue/{uuid.uuid4()}", body, format="json")
    garbage = outsider_client.post("/events/venue/not-a-uuid", body, format="json")

    assert foreign.status_code == missing.status_code == garbage.status_code == 404
    assert foreign.json() == missing.json() == garbage.json()
    assert table_counts() == (0, 0)


def test_a_read_only_member_gets_403(reader_client, ingest_url):
    response = reader_client.post(ingest_url, {"events": [event_payload(0)]}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Write access to this venue is required."
    assert table_counts() == (0, 0)


def test_staff_may_ingest_without_a_membership(venue, ingest_url):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory, token_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(is_staff=True))}")

    response = client.post(ingest_url, {"events": [event_payload(0)]}, format="json")

    assert response.json() == {"accepted": 1, "duplicates": 0}


def test_logs_carry_counts_but_no_raw_customer_id(post_batch, caplog, venue):
    events = [event_payload(0, customerId=RAW_ID), event_payload(1, customerId=RAW_ID)]
    bad = [event_payload(2, customerId=RAW_ID, quantity=0)]

    with caplog.at_level(logging.DEBUG):
        post_batch(events)
        post_batch(bad)

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert f"venue={venue.pk}" in text
    assert "accepted=2" in text
    assert RAW_ID not in text
    assert RAW_ID not in json.dumps([str(record.args) for record in caplog.records])


def test_a_body_over_the_size_bound_is_refused(writer_client, ingest_url):
    from customer_intel.api.events_views import MAX_BODY_BYTES

    body = b'{"events": [' + b" " * MAX_BODY_BYTES + b"]}"

    response = writer_client.generic("POST", ingest_url, body, "application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert table_counts() == (0, 0)


def test_a_body_that_is_not_json_is_refused(writer_client, ingest_url):
    response = writer_client.post(ingest_url, {"events": "x"}, format="multipart")

    assert response.status_code == 415
    assert table_counts() == (0, 0)


def test_a_full_batch_larger_than_djangos_form_limit_is_accepted(post_batch, settings):
    notes = {"notes": "n" * 600}
    events = [event_payload(n, properties=notes) for n in range(settings.INGEST_MAX_BATCH)]
    assert len(json.dumps({"events": events})) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = post_batch(events)

    assert response.json() == {"accepted": 5000, "duplicates": 0}
