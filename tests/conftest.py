"""Shared fixtures: venues, users with memberships, authenticated API clients."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, VenueFactory, token_for


@pytest.fixture
def venue(db):
    return VenueFactory()


@pytest.fixture
def reader(venue):
    return MembershipFactory(venue=venue, can_write=False).user


@pytest.fixture
def writer(venue):
    return MembershipFactory(venue=venue, can_write=True).user


@pytest.fixture
def outsider(db):
    """A user with a membership at another venue only."""
    return MembershipFactory(can_write=True).user


def _client_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def reader_client(reader) -> APIClient:
    return _client_for(reader)


@pytest.fixture
def writer_client(writer) -> APIClient:
    return _client_for(writer)


@pytest.fixture
def outsider_client(outsider) -> APIClient:
    return _client_for(outsider)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()
