"""Every path to an answer gives the same answer: token or session, member or staff, a stored
profile or one computed on demand; and no state is shared between requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict
from rest_framework.test import APIClient

from customer_intel.api.filters import SearchParameters
from customer_intel.models import CustomerProfile
from tests.api.conftest import AS_OF, make_event, make_profile, make_snapshot
from tests.factories import MembershipFactory, UserFactory, token_for


@pytest.mark.django_db
class TestTokenLookup:
    def test_an_inactive_user_is_refused(self):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(is_active=False))}")
        response = client.get("/customers/venue/00000000-0000-0000-0000-000000000000/segments")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "User inactive or deleted."

    @pytest.mark.parametrize("header", ["Token", "Bearer", "Token a b"])
    def test_a_malformed_header_is_401(self, header, venue):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get(f"/customers/venue/{venue.pk}/segments")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_failed"


def _session(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.django_db
class TestSamePathForEveryone:
    def test_segments_of_a_venue_without_a_snapshot_are_zeros(self, reader_client, venue):
        response = reader_client.get(f"/customers/venue/{venue.pk}/segments")
        assert response.status_code == 200
        assert response.json()["totalCustomers"] == 0
        assert response.json()["asOf"] is None

    @pytest.mark.parametrize("by", ["segment", "rfm"])
    def test_segments_read_the_same_by_token_session_and_staff(
        self, reader, reader_client, staff_client, venue, by
    ):
        # 1 of 32 is 3.125%: two decimals by largest remainder, the shares summing to 100.00.
        make_snapshot(
            venue,
            segment_counts={"vip": 1, "regular": 31},
            rfm_segment_counts={"Champions": 1, "Lost": 31},
            total_customers=32,
            as_of=datetime(2026, 3, 1, 12, 0, 0, 123400, tzinfo=UTC),
            computed_at=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        )
        url = f"/customers/venue/{venue.pk}/segments?by={by}"
        by_token = reader_client.get(url)
        by_session = _session(reader).get(url, HTTP_ACCEPT="application/json")
        assert by_token.status_code == by_session.status_code == 200
        assert by_token.json() == by_session.json() == staff_client.get(url).json()
        assert by_token.json()["asOf"] == "2026-03-01T12:00:00Z"  # whole seconds
        shares = {share["segment"]: share["percentage"] for share in by_token.json()["segments"]}
        assert shares["vip" if by == "segment" else "Champions"] in (3.12, 3.13)
        assert round(sum(shares.values()), 2) == 100.0

    def test_a_changed_snapshot_is_answered_at_once(self, reader_client, venue):
        snapshot = make_snapshot(venue, segment_counts={"vip": 1}, total_customers=1)
        url = f"/customers/venue/{venue.pk}/segments"
        before = reader_client.get(url).json()
        snapshot.segment_counts = {"vip": 2}
        snapshot.total_customers = 2
        snapshot.save()
        after = reader_client.get(url).json()
        assert before["totalCustomers"] == 1
        assert after["totalCustomers"] == 2
        assert {share["segment"]: share["count"] for share in after["segments"]}["vip"] == 2

    def test_a_membership_at_another_venue_reads_nothing(self, venue):
        make_profile(venue, "someone")
        make_snapshot(venue, total_customers=1)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(MembershipFactory().user)}")
        for path in ("segments", "search", CustomerProfile.objects.get().customer):
            response = client.get(f"/customers/venue/{venue.pk}/{path}")
            assert response.status_code == 404, path

    def test_an_empty_search_page_of_a_readable_venue_is_200(self, reader_client, venue):
        response = reader_client.get(f"/customers/venue/{venue.pk}/search?segment=vip")
        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_a_bad_parameter_at_an_unreadable_venue_is_404(self, outsider_client, venue):
        response = outsider_client.get(f"/customers/venue/{venue.pk}/search?pageSize=0")
        assert response.status_code == 404

    @pytest.mark.parametrize("suffix", ["", "/rfm", "/clv", "/insights"])
    def test_a_customer_reads_the_same_by_token_session_and_staff(
        self, reader, reader_client, staff_client, venue, suffix
    ):
        profile = make_profile(venue, "someone")
        url = f"/customers/venue/{venue.pk}/{profile.customer}{suffix}"
        by_token = reader_client.get(url)
        assert by_token.status_code == 200
        by_session = _session(reader).get(url, HTTP_ACCEPT="application/json")
        assert by_token.json() == by_session.json() == staff_client.get(url).json()

    @pytest.mark.parametrize("suffix", ["", "/rfm", "/clv", "/insights"])
    def test_a_profile_computed_on_demand_reads_as_the_stored_one(
        self, reader_client, venue, suffix
    ):
        make_event(venue, "someone", "e1", "ticket.purchased", AS_OF - timedelta(days=3), amount=9)
        url = f"/customers/venue/{venue.pk}/someone{suffix}"
        computed = reader_client.get(url)
        assert CustomerProfile.objects.filter(venue=venue).count() == 1
        stored = reader_client.get(url)
        assert computed.status_code == stored.status_code == 200
        assert computed.json() == stored.json()

    def test_a_profile_search_row_is_the_profile(self, reader_client, venue):
        profile = make_profile(venue, "someone", probability_alive=0.123456789)
        (row,) = reader_client.get(f"/customers/venue/{venue.pk}/search").json()["results"]
        assert row == reader_client.get(f"/customers/venue/{venue.pk}/{profile.customer}").json()

    def test_the_profile_venue_is_the_urls(self, reader_client, venue):
        profile = make_profile(venue, "someone")
        response = reader_client.get(f"/customers/venue/{venue.pk}/{profile.customer}")
        assert response.json()["venueId"] == str(venue.pk)

    def test_a_bad_token_is_401_even_with_a_profile_in_the_url(self, venue):
        profile = make_profile(venue, "someone")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
        response = client.get(f"/customers/venue/{venue.pk}/{profile.customer}")
        assert response.status_code == 401


def test_search_parameters_share_no_state():
    first = SearchParameters(QueryDict("segment=vip&minTotalSpent=10"))
    second = SearchParameters(QueryDict("segment=bogus"))
    assert first.fields["segment"] is not second.fields["segment"]
    assert first.is_valid()
    assert not second.is_valid()
    assert first.cleaned_data["segment"] == ["vip"]
    assert "segment" in second.errors


@pytest.mark.django_db
def test_the_browsable_api_shows_the_answers(reader, venue):
    profile = make_profile(venue, "someone")
    browser = _session(reader)
    for path in (profile.customer, "search"):
        page = browser.get(f"/customers/venue/{venue.pk}/{path}", HTTP_ACCEPT="text/html")
        assert page.status_code == 200, path
        assert page["Content-Type"].startswith("text/html")
        assert profile.customer in page.content.decode(), path
