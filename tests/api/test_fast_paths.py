"""The per-request shortcuts of the hot endpoints answer exactly what the general paths do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from customer_intel.api.authentication import BearerOrTokenAuthentication
from customer_intel.api.customers_serializers import (
    PROFILE_JSON_FIELDS,
    CustomerClvSerializer,
    CustomerProfileSerializer,
    CustomerRfmSerializer,
    SegmentsSerializer,
    profile_json,
    segments_json,
)
from customer_intel.api.filters import CustomerProfileFilterSet
from customer_intel.models import CustomerProfile
from tests.api.conftest import make_profile, make_snapshot
from tests.factories import MembershipFactory, UserFactory, token_for


@pytest.mark.parametrize(
    "body",
    [
        {
            "venueId": "5d7f3f3e-1c7a-4d7e-9a3b-2f0c1e9b8a01",
            "by": "segment",
            "segments": [
                {"segment": "vip", "count": 3, "percentage": 37.5},
                {"segment": "new", "count": 0, "percentage": 0.0},
            ],
            "totalCustomers": 8,
            "asOf": datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
            "computedAt": datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        },
        {
            "venueId": "5d7f3f3e-1c7a-4d7e-9a3b-2f0c1e9b8a01",
            "by": "rfm",
            "segments": [{"segment": "Champions", "count": 0, "percentage": 0.0}],
            "totalCustomers": 0,
            "asOf": None,
            "computedAt": None,
        },
    ],
)
def test_segments_json_matches_the_serializer(body):
    assert segments_json(body) == SegmentsSerializer(body).data


@pytest.mark.django_db
def test_profile_json_of_a_named_row_matches_the_serializer(venue):
    make_profile(venue, "someone")
    profile = CustomerProfile.objects.get()
    row = CustomerProfile.objects.values_list(*PROFILE_JSON_FIELDS, named=True).get()
    assert profile_json(row) == CustomerProfileSerializer(profile).data


@pytest.mark.django_db
class TestTokenLookup:
    def test_returns_the_user_and_its_token(self):
        user = UserFactory()
        key = token_for(user)
        found_user, token = BearerOrTokenAuthentication().authenticate_credentials(key)
        assert found_user == user
        assert token.key == key
        assert token.user is found_user

    def test_an_inactive_user_is_refused(self):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(is_active=False))}")
        response = client.get("/customers/venue/00000000-0000-0000-0000-000000000000/segments")
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "User inactive or deleted."


@pytest.mark.django_db
class TestMemberShortcuts:
    def test_segments_of_a_venue_without_a_snapshot_are_zeros(self, reader_client, venue):
        response = reader_client.get(f"/customers/venue/{venue.pk}/segments")
        assert response.status_code == 200
        assert response.json()["totalCustomers"] == 0
        assert response.json()["asOf"] is None

    def test_segments_read_by_a_member_and_by_staff_are_the_same(self, reader_client, venue):
        make_snapshot(venue, segment_counts={"vip": 2}, total_customers=4)
        staff = APIClient()
        staff.credentials(HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(is_staff=True))}")
        url = f"/customers/venue/{venue.pk}/segments"
        assert reader_client.get(url).json() == staff.get(url).json()

    @pytest.mark.parametrize("by", ["segment", "rfm"])
    def test_a_members_segments_are_one_query_and_read_as_by_session(
        self, reader, reader_client, venue, by
    ):
        # 1 of 32 is 3.125%: the percentages must round as the general path rounds them.
        make_snapshot(
            venue,
            segment_counts={"vip": 1, "regular": 31},
            rfm_segment_counts={"Champions": 1, "Lost": 7},
            total_customers=32,
            as_of=datetime(2026, 3, 1, 12, 0, 0, 123400, tzinfo=UTC),
            computed_at=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        )
        url = f"/customers/venue/{venue.pk}/segments?by={by}"
        with CaptureQueriesContext(connection) as queries:
            by_token = reader_client.get(url)
        assert by_token.status_code == 200
        assert len(queries.captured_queries) == 1
        session = APIClient()
        session.force_login(reader)
        by_session = session.get(url, HTTP_ACCEPT="application/json")
        assert by_session.status_code == 200
        assert by_token.json() == by_session.json()
        assert by_token.json()["asOf"] == "2026-03-01T12:00:00.123400Z"

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

    def test_a_members_bad_segments_parameter_is_400(self, reader_client, venue):
        make_snapshot(venue, total_customers=0)
        response = reader_client.get(f"/customers/venue/{venue.pk}/segments?by=nothing")
        assert response.status_code == 400
        assert "by" in response.json()["error"]["details"]

    def test_a_membership_at_another_venue_reads_nothing(self, venue):
        make_profile(venue, "someone")
        make_snapshot(venue, total_customers=1)
        other = MembershipFactory().user
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(other)}")
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

    def test_the_profile_venue_is_the_urls(self, reader_client, venue):
        profile = make_profile(venue, "someone")
        response = reader_client.get(f"/customers/venue/{venue.pk}/{profile.customer}")
        assert response.json()["venueId"] == str(venue.pk)

    @pytest.mark.parametrize(
        ("suffix", "serializer"),
        [
            ("", CustomerProfileSerializer),
            ("/rfm", CustomerRfmSerializer),
            ("/clv", CustomerClvSerializer),
        ],
    )
    def test_a_members_read_is_one_query_with_the_token(
        self, reader_client, venue, suffix, serializer
    ):
        profile = make_profile(venue, "someone")
        url = f"/customers/venue/{venue.pk}/{profile.customer}{suffix}"
        with CaptureQueriesContext(connection) as queries:
            response = reader_client.get(url)
        assert response.status_code == 200
        assert len(queries.captured_queries) == 1
        assert response.json() == serializer(profile).data

    def test_the_profile_reads_the_same_by_session_as_by_token(self, reader, reader_client, venue):
        profile = make_profile(venue, "someone")
        url = f"/customers/venue/{venue.pk}/{profile.customer}"
        session = APIClient()
        session.force_login(reader)
        by_session = session.get(url, HTTP_ACCEPT="application/json")
        assert by_session.status_code == 200
        assert by_session.json() == reader_client.get(url).json()

    def test_a_profile_by_raw_id_is_read_with_the_token(self, reader_client, venue):
        profile = make_profile(venue, "someone")
        response = reader_client.get(f"/customers/venue/{venue.pk}/someone")
        assert response.json()["customerId"] == profile.customer

    def test_a_bad_token_is_401_even_with_a_profile_in_the_url(self, venue):
        profile = make_profile(venue, "someone")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
        response = client.get(f"/customers/venue/{venue.pk}/{profile.customer}")
        assert response.status_code == 401


def test_filtersets_share_their_filters_but_not_their_data():
    first = CustomerProfileFilterSet(data=QueryDict("segment=vip&minTotalSpent=10"))
    second = CustomerProfileFilterSet(data=QueryDict("segment=bogus"))
    assert first.filters is second.filters
    assert first.is_valid()
    assert not second.is_valid()
    assert first.form.cleaned_data["segment"] == ["vip"]
    assert "segment" in second.errors


@pytest.mark.django_db
def test_the_browsable_api_shows_responses_written_by_postgresql(reader, venue):
    profile = make_profile(venue, "someone")
    browser = APIClient()
    browser.force_login(reader)
    for path in (profile.customer, "search"):
        page = browser.get(f"/customers/venue/{venue.pk}/{path}", HTTP_ACCEPT="text/html")
        assert page.status_code == 200, path
        assert page["Content-Type"].startswith("text/html")
        assert profile.customer in page.content.decode(), path
