"""The venue list (run state, customers, backlog), its thresholds form and recompute action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customer_intel.models import PendingCustomer, RecomputeRun, RunMode, RunStatus, Venue
from tests.factories import RunFactory, VenueFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:customer_intel_venue_changelist"


def change_url(venue: Venue) -> str:
    return reverse("admin:customer_intel_venue_change", args=[venue.pk])


def venue_form(venue: Venue, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": venue.name,
        "timezone": venue.timezone,
        "currency": venue.currency,
        "lost_after_days": venue.lost_after_days,
        "dormant_after_days": venue.dormant_after_days,
        "at_risk_after_days": venue.at_risk_after_days,
        "vip_min_spent": venue.vip_min_spent,
        "vip_min_frequency": venue.vip_min_frequency,
        "regular_min_frequency": venue.regular_min_frequency,
        "annual_discount_rate": venue.annual_discount_rate,
        "slipping_probability_alive": venue.slipping_probability_alive,
        "history_retention_days": venue.history_retention_days,
    }
    data.update(overrides)
    return data


def test_list_shows_last_run_with_age_customers_and_backlog(admin_client, admin_data):
    # The failed incremental run is the latest; the full run before it succeeded.
    finished = timezone.now() - timedelta(minutes=7)
    RecomputeRun.objects.filter(pk=admin_data.failed_run.pk).update(finished_at=finished)

    response = admin_client.get(reverse(CHANGELIST))

    venue = response.context["cl"].result_list[0]
    assert venue.last_run_status == RunStatus.FAILED
    assert venue.last_run_id == admin_data.failed_run.pk
    assert venue.last_success_at == admin_data.run.finished_at
    assert venue.customer_count == 2
    assert venue.pending_count == 1
    html = response.content.decode()
    assert "failed</a> · 7\xa0minutes ago" in html
    assert "3\xa0minutes ago" in html  # the last success


def test_venue_without_runs_reads_never(admin_client):
    VenueFactory(name="Brand New Club")

    response = admin_client.get(reverse(CHANGELIST))

    venue = response.context["cl"].result_list[0]
    assert (venue.last_run_id, venue.customer_count, venue.pending_count) == (None, None, 0)
    assert "never" in response.content.decode()


def _queries_for_venue_list(client) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(queries)


def _venue_with_history(index: int) -> Venue:
    venue = VenueFactory()
    RunFactory(venue=venue, succeeded=True)
    RunFactory(venue=venue, failed=True)
    PendingCustomer.objects.create(venue=venue, customer=f"{index:064x}", marked_at=timezone.now())
    return venue


def test_venue_list_query_count_does_not_grow_with_venues(admin_client):
    _venue_with_history(1)
    with_one = _queries_for_venue_list(admin_client)

    for index in range(2, 7):
        _venue_with_history(index)
    with_six = _queries_for_venue_list(admin_client)

    assert with_six == with_one


def test_thresholds_are_editable(admin_client, admin_data):
    venue = admin_data.venue

    response = admin_client.post(
        change_url(venue),
        venue_form(venue, at_risk_after_days=60, vip_min_spent="2500.00", currency="chf"),
    )

    assert response.status_code == 302
    venue.refresh_from_db()
    assert (venue.at_risk_after_days, str(venue.vip_min_spent), venue.currency) == (
        60,
        "2500.00",
        "CHF",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "../../etc/passwd"),
        ("currency", "EURO"),
        ("currency", "€€€"),
        ("at_risk_after_days", 200),  # not below dormant (180)
        ("dormant_after_days", 400),  # not below lost (365)
        ("vip_min_spent", "-1"),
        ("vip_min_frequency", "-0.5"),
        ("slipping_probability_alive", "1.5"),
        ("annual_discount_rate", "-0.1"),
        ("lost_after_days", "-3"),
        ("lost_after_days", "soon"),
    ],
)
def test_bad_settings_are_refused_on_their_field(admin_client, admin_data, field, value):
    venue = admin_data.venue
    before = Venue.objects.values().get(pk=venue.pk)

    response = admin_client.post(change_url(venue), venue_form(venue, **{field: value}))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Venue.objects.values().get(pk=venue.pk) == before


def test_queue_full_recompute_action(admin_client, admin_data, django_capture_on_commit_callbacks):
    second = VenueFactory(name="Second Stage")

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse(CHANGELIST),
            {
                "action": "queue_full_recompute",
                "_selected_action": [admin_data.venue.pk, second.pk],
            },
            follow=True,
        )

    assert response.status_code == 200
    queued = RecomputeRun.objects.filter(mode=RunMode.FULL, status=RunStatus.QUEUED)
    assert {run.venue_id for run in queued} == {admin_data.venue.pk, second.pk}
    # Each run's task is sent once its row is committed.
    assert len(callbacks) == 2
    assert "Queued a full recompute for 2 venue(s)" in response.content.decode()


def test_queue_full_recompute_skips_a_venue_already_queued(
    admin_client, admin_data, django_capture_on_commit_callbacks
):
    RunFactory(venue=admin_data.venue)  # a full run, queued

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse(CHANGELIST),
            {"action": "queue_full_recompute", "_selected_action": [admin_data.venue.pk]},
            follow=True,
        )

    assert RecomputeRun.objects.filter(mode=RunMode.FULL, status=RunStatus.QUEUED).count() == 1
    assert callbacks == []
    assert "already queued for: Blue Note Hall" in response.content.decode()


def test_membership_form_uses_autocomplete_not_select_lists(admin_client, admin_data):
    response = admin_client.get(reverse("admin:customer_intel_venuemembership_add"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "admin-autocomplete" in html
    # No <option> per user or venue is rendered up front.
    assert admin_data.membership.user.username not in html
