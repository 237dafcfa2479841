"""Every URL pattern of the API goes through the venue-scoping base: a walk over the URL
conf, and each venue route called by callers who may not use the venue."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from customer_intel.api.scoping import VenueScopedAPIView
from customer_intel.models import CustomerProfile, RecomputeRun, SegmentFlowSet, SegmentSnapshot
from tests.api.conftest import AS_OF, make_event, make_profile
from tests.factories import MembershipFactory, RunFactory, token_for

# The routes that name no venue, each for a reason.
UNSCOPED = {
    "health": "load balancers call it; staff alone see per-venue figures",
    "schema": "the OpenAPI document",
    "swagger-ui": "the OpenAPI document's page",
    "redoc": "the OpenAPI document's other page",
    "landing": "the front page: links to the docs, the admin and health",
    "login": "DRF's session login for the browsable API",
    "logout": "DRF's session logout",
    None: "the API's JSON 404 for paths no route takes",
}


def api_patterns() -> list[tuple[str, URLPattern]]:
    """(route, pattern) of every URL pattern outside the admin."""
    found: list[tuple[str, URLPattern]] = []

    def walk(patterns: list, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if entry.app_name != "admin":
                    walk(entry.url_patterns, route)
            else:
                found.append((route, entry))

    walk(get_resolver().url_patterns, "")
    return found


def view_class(pattern: URLPattern) -> type:
    return pattern.callback.cls  # type: ignore[attr-defined]


def test_every_route_naming_a_venue_is_scoped_and_every_other_is_known():
    venue_routes = [(route, p) for route, p in api_patterns() if "<str:venue_id>" in route]
    others = {p.name for route, p in api_patterns() if "<str:venue_id>" not in route}
    assert len(venue_routes) >= 9
    for route, pattern in venue_routes:
        assert issubclass(view_class(pattern), VenueScopedAPIView), route
    assert others == set(UNSCOPED)


def _url(route: str, venue_id: object, customer: str, run_id: object = 0) -> str:
    return "/" + route.replace("<str:venue_id>", str(venue_id)).replace(
        "<path:customer_id>", customer
    ).replace("<str:run_id>", str(run_id))


def _calls() -> list[tuple[str, str]]:
    calls = []
    for route, pattern in api_patterns():
        if "<str:venue_id>" in route:
            methods = view_class(pattern)().allowed_methods
            calls += [(route, method) for method in methods if method not in ("OPTIONS", "HEAD")]
    return calls


@pytest.fixture
def scoped_venue(venue):
    make_event(venue, "customer-1", "e1", "ticket.purchased", AS_OF, amount="10.00")
    make_profile(venue, "customer-1")
    SegmentSnapshot.objects.create(venue=venue, segment_counts={"regular": 1}, total_customers=1)
    # A full run's flows and its run, so that the routes naming them have something to answer.
    run = RunFactory(venue=venue, succeeded=True, as_of=AS_OF)
    SegmentFlowSet.objects.create(venue=venue, run=run, as_of=AS_OF, local_date=AS_OF.date())
    return venue


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), _calls())
def test_a_caller_who_may_not_use_the_venue_learns_nothing(route, method, scoped_venue):
    """Outsiders (with a membership elsewhere) get the same 404 for the venue, a missing
    venue and a malformed id, whatever else the request holds (a bad parameter, a customer
    who exists, a body); and no row of the venue changes."""
    customer = CustomerProfile.objects.get().customer
    outsider = APIClient()
    outsider.credentials(HTTP_AUTHORIZATION=f"Token {token_for(MembershipFactory().user)}")
    answers = []
    for venue_id in (scoped_venue.pk, uuid.uuid4(), "not-a-uuid"):
        for query in ("", "?pageSize=0&by=nothing&segment=gold"):
            call = getattr(outsider, method.lower())
            url = _url(route, venue_id, customer) + query
            response = call(url, {}, format="json") if method == "POST" else call(url)
            answers.append((response.status_code, response.json()))
    assert {status for status, _ in answers} == {404}, route
    assert {body["error"]["message"] for _, body in answers} == {"Venue not found."}, route


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), _calls())
def test_a_member_reaches_every_route(route, method, scoped_venue):
    customer = CustomerProfile.objects.get().customer
    writer = MembershipFactory(venue=scoped_venue, can_write=True).user
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(writer)}")
    run = RecomputeRun.objects.get(venue=scoped_venue)
    url = _url(route, scoped_venue.pk, customer, run.pk)
    if method == "POST" and route.startswith("events/"):
        event = {"eventId": "s1", "customerId": "c", "type": "page.viewed", "occurredAt": AS_OF}
        response = client.post(url, {"events": [event]}, format="json")
    else:
        response = getattr(client, method.lower())(url)
    assert response.status_code in (200, 202), (route, response.content)


class _Unscoped(VenueScopedAPIView):
    """A view that forgets to read through the scope."""

    def get(self, request, venue_id):  # type: ignore[no-untyped-def]
        return Response({"leak": True})


@pytest.mark.django_db
def test_an_answer_that_skips_the_scope_is_refused(reader, venue):
    request = APIRequestFactory().get(f"/customers/venue/{venue.pk}/probe")
    force_authenticate(request, user=reader)
    with pytest.raises(ImproperlyConfigured, match="without reading through the venue scope"):
        _Unscoped.as_view()(request, venue_id=str(venue.pk))
