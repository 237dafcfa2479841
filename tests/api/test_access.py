"""Authentication and venue scoping, the same for every customer endpoint."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from customer_intel.models import RecomputeRun
from tests.api.conftest import make_profile
from tests.factories import token_for

RAW_ID = "customer-1"

READS = [
    "/customers/venue/{venue}/segments",
    "/customers/venue/{venue}/search",
    "/customers/venue/{venue}/{customer}",
    "/customers/venue/{venue}/{customer}/insights",
    "/customers/venue/{venue}/{customer}/journey",
    "/customers/venue/{venue}/{customer}/rfm",
    "/customers/venue/{venue}/{customer}/clv",
]
WRITES = ["/customers/venue/{venue}/recompute"]
ENDPOINTS = [("get", url) for url in READS] + [("post", url) for url in WRITES]


@pytest.fixture
def profile(venue):
    from tests.api.conftest import AS_OF, make_event

    # The journey reads events, the other customer endpoints the profile.
    make_event(venue, RAW_ID, "e1", "ticket.purchased", AS_OF, amount="10.00")
    return make_profile(venue, RAW_ID)


def call(client: APIClient, method: str, url: str, venue_id: object, customer: str):
    return getattr(client, method)(url.format(venue=venue_id, customer=customer))


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
class TestEveryEndpoint:
    def test_anonymous_is_401(self, method, url, anonymous_client, venue, profile):
        response = call(anonymous_client, method, url, venue.pk, profile.customer)
        assert response.status_code == 401
        assert response.json()["error"]["status"] == 401
        assert "WWW-Authenticate" in response

    def test_bad_token_is_401(self, method, url, venue, profile):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
        response = call(client, method, url, venue.pk, profile.customer)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_failed"

    def test_outsider_gets_the_same_404_as_a_missing_venue(
        self, method, url, outsider_client, venue, profile
    ):
        forbidden = call(outsider_client, method, url, venue.pk, profile.customer)
        missing = call(outsider_client, method, url, uuid.uuid4(), profile.customer)
        malformed = call(outsider_client, method, url, "not-a-uuid", profile.customer)
        assert forbidden.status_code == missing.status_code == malformed.status_code == 404
        assert forbidden.json() == missing.json() == malformed.json()
        assert forbidden.json()["error"]["message"] == "Venue not found."

    def test_staff_may_use_any_venue(self, method, url, staff_client, venue, profile):
        response = call(staff_client, method, url, venue.pk, profile.customer)
        assert response.status_code == (202 if method == "post" else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("url", READS)
@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_reader_reads(url, scheme, reader, venue, profile):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token_for(reader)}")
    assert call(client, "get", url, venue.pk, profile.customer).status_code == 200


@pytest.mark.django_db
def test_reader_may_not_queue_a_recompute(reader_client, venue):
    response = reader_client.post(f"/customers/venue/{venue.pk}/recompute")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Write access to this venue is required."
    assert not RecomputeRun.objects.exists()


@pytest.mark.django_db
def test_writer_queues_a_recompute(writer_client, venue):
    response = writer_client.post(
        f"/customers/venue/{venue.pk}/recompute", {"mode": "full"}, format="json"
    )
    assert response.status_code == 202
    run = RecomputeRun.objects.get()
    assert response.json() == {"runId": run.pk, "status": "queued", "mode": "full"}
    assert run.venue == venue


@pytest.mark.django_db
def test_recompute_defaults_to_incremental_and_rejects_an_unknown_mode(writer_client, venue):
    url = f"/customers/venue/{venue.pk}/recompute"
    assert writer_client.post(url).json()["mode"] == "incremental"
    response = writer_client.post(url, {"mode": "single"}, format="json")
    assert response.status_code == 400
    assert "mode" in response.json()["error"]["details"]
    assert RecomputeRun.objects.count() == 1
