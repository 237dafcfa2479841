"""Suppression: an erased customer's replayed or later events are dropped at ingestion and
counted, until the suppression is lifted."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customer_intel.models import CustomerEvent, PendingCustomer, PrivacyAction, PrivacyAuditEntry
from customer_intel.privacy import pseudonymize
from customer_intel.services.audit import Actor
from customer_intel.services.suppression import (
    customer_suppress,
    suppressed_pseudonyms,
)
from tests.factories import VenueFactory
from tests.ingestion.conftest import event_payload

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"


def _batch() -> list[dict]:
    """Two events of alice (one repeated) and one of bob."""
    return [
        event_payload(1, customerId=ALICE),
        event_payload(2, customerId=ALICE),
        event_payload(2, customerId=ALICE),
        event_payload(3, customerId="bob@example.com"),
    ]


def _post(client, venue, events):  # type: ignore[no-untyped-def]
    return client.post(f"/events/venue/{venue.pk}", {"events": events}, format="json")


def test_replayed_events_of_a_suppressed_customer_are_dropped_and_counted(venue, writer_client):
    assert _post(writer_client, venue, _batch()).json() == {
        "accepted": 3,
        "duplicates": 1,
        "suppressed": 0,
    }
    erased = writer_client.delete(f"/customers/venue/{venue.pk}/{ALICE}?suppress=true")
    assert erased.json() == {"erased": {"events": 2, "profiles": 0}}

    replay = _post(writer_client, venue, _batch())
    later = _post(writer_client, venue, [event_payload(9, customerId=ALICE)])

    assert replay.status_code == 200, replay.content
    assert replay.json() == {"accepted": 0, "duplicates": 1, "suppressed": 3}
    assert later.json() == {"accepted": 0, "duplicates": 0, "suppressed": 1}
    alice = pseudonymize(ALICE)
    assert not CustomerEvent.objects.filter(venue=venue, customer=alice).exists()
    assert not PendingCustomer.objects.filter(venue=venue, customer=alice).exists()


def test_a_suppression_holds_at_its_venue_only(venue, writer_client):
    elsewhere = VenueFactory()
    customer_suppress(venue=elsewhere, customer=pseudonymize(ALICE), actor=Actor.schedule())

    response = _post(writer_client, venue, [event_payload(1, customerId=ALICE)])

    assert response.json() == {"accepted": 1, "duplicates": 0, "suppressed": 0}
    assert list(suppressed_pseudonyms(venue=elsewhere)) == [pseudonymize(ALICE)]
    assert list(suppressed_pseudonyms(venue=venue)) == []


def test_lifting_a_suppression_collects_the_customer_again(venue, writer_client):
    _post(writer_client, venue, _batch())
    writer_client.delete(f"/customers/venue/{venue.pk}/{ALICE}?suppress=true")
    out = StringIO()

    call_command("lift_suppression", ALICE, "--venue", str(venue.pk), stdout=out)

    assert "suppression lifted" in out.getvalue() and ALICE not in out.getvalue()
    assert _post(writer_client, venue, _batch()).json() == {
        "accepted": 2,
        "duplicates": 2,
        "suppressed": 0,
    }
    actions = list(PrivacyAuditEntry.objects.order_by("id").values_list("action", "via"))
    assert actions == [
        (PrivacyAction.ERASURE, "api"),
        (PrivacyAction.SUPPRESSION, "api"),
        (PrivacyAction.SUPPRESSION_LIFTED, "command"),
    ]
    with pytest.raises(CommandError, match="not suppressed"):
        call_command("lift_suppression", ALICE, "--all-venues", stdout=StringIO())


def test_suppressing_twice_records_once(venue):
    alice = pseudonymize(ALICE)

    first = customer_suppress(venue=venue, customer=alice, actor=Actor.schedule())
    second = customer_suppress(venue=venue, customer=alice, actor=Actor.schedule())

    assert (first, second) == (True, False)
    assert PrivacyAuditEntry.objects.filter(action=PrivacyAction.SUPPRESSION).count() == 1
