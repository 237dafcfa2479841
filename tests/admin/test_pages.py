"""Every model's changelist and detail page answers with its data."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from customer_intel.admin.caches import CustomerProfileAdmin
from customer_intel.models import CustomerEvent
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def changelist(model_name: str) -> str:
    return reverse(f"admin:customer_intel_{model_name}_changelist")


def change(model_name: str, pk: object) -> str:
    return reverse(f"admin:customer_intel_{model_name}_change", args=[pk])


# (model name, attribute of AdminData holding a row, text the changelist must show)
PAGES = [
    ("venue", "venue", "Blue Note Hall"),
    ("venuemembership", "membership", "Blue Note Hall"),
    ("customerevent", "other_event", "spring-sale"),
    ("customerprofile", "profile", "Potential Loyalists"),
    ("recomputerun", "run", "61.5 s"),
    ("predictionmodelfit", "fit", "BG/NBD 0.5120; MBG/NBD 0.5180; Pareto/NBD refused (holdout)"),
    ("segmentsnapshot", "snapshot", "Blue Note Hall"),
    ("customerfacts", "facts", "Blue Note Hall"),
    ("pendingcustomer", "pending", "Blue Note Hall"),
]


@pytest.mark.parametrize(("model_name", "attribute", "expected"), PAGES)
def test_changelist_lists_the_rows(admin_client, admin_data, model_name, attribute, expected):
    response = admin_client.get(changelist(model_name))

    assert response.status_code == 200
    assert expected in response.content.decode()
    row = getattr(admin_data, attribute)
    assert row in response.context["cl"].result_list


@pytest.mark.parametrize(("model_name", "attribute", "expected"), PAGES)
def test_detail_page_shows_the_row(admin_client, admin_data, model_name, attribute, expected):
    row = getattr(admin_data, attribute)

    response = admin_client.get(change(model_name, row.pk))

    assert response.status_code == 200
    assert response.context["original"] == row


def test_profile_detail_shows_insights_and_predictions(admin_client, admin_data):
    response = admin_client.get(change("customerprofile", admin_data.profile.pk))

    html = response.content.decode()
    assert "VIP Customer" in html
    assert "987.65" in html  # predicted_clv_365d
    assert "0.93" in html  # probability_alive
    # Which figure is the audit's rule of thumb and which the model's is said on the page.
    assert "Audit rule: AOV × frequency × 3" in html  # noqa: RUF001
    assert "Audit rule: churn by days since purchase" in html
    assert "Model predictions" in html
    assert admin_data.pseudonym in html
    # A link to this customer's events, searched by pseudonym.
    assert f"{changelist('customerevent')}?q={admin_data.pseudonym}" in html


def test_profile_pages_label_the_audit_rules_as_such(admin_client, admin_data):
    listing = admin_client.get(changelist("customerprofile")).content.decode()
    detail = admin_client.get(change("customerprofile", admin_data.profile.pk)).content.decode()

    for html in (listing, detail):
        assert "Audit rule: AOV × frequency × 3" in html  # noqa: RUF001
        assert "Audit rule: churn by days since purchase" in html
    assert "Model predictions" in detail


def test_venue_page_says_which_model_was_chosen_and_how_each_candidate_did(
    admin_client, admin_data
):
    html = admin_client.get(change("venue", admin_data.venue.pk)).content.decode()

    assert "BG/NBD with Gamma-Gamma for spend, fitted on 1,800 customers" in html
    assert "On its holdout it missed each customer&#x27;s purchases by 0.51 on average" in html
    assert "(MBG/NBD 0.52)." in html


def test_run_list_truncates_the_error_and_detail_shows_it_whole(admin_client, admin_data):
    listing = admin_client.get(changelist("recomputerun")).content.decode()
    detail = admin_client.get(change("recomputerun", admin_data.failed_run.pk)).content.decode()

    assert "WorkerLostError" in listing
    assert "END-OF-ERROR" not in listing
    assert "END-OF-ERROR" in detail


def test_fit_detail_shows_parameters_and_diagnostics(admin_client, admin_data):
    html = admin_client.get(change("predictionmodelfit", admin_data.fit.pk)).content.decode()

    assert "&quot;alpha&quot;: 4.414" in html
    assert "&quot;iterations&quot;: 37" in html
    assert "-9582.43" in html  # the purchase model's log-likelihood
    assert "Holdout MAE per candidate" in html


def test_event_list_filters_by_type_window_and_venue(admin_client, admin_data):
    url = changelist("customerevent")
    old = admin_data.events[0]
    CustomerEvent.objects.filter(pk=old.pk).update(occurred_at=old.occurred_at.replace(year=2001))

    by_type = admin_client.get(url, {"type__exact": "page.viewed"}).context["cl"].result_list
    recent = admin_client.get(url, {"occurred_within": "7d"}).context["cl"].result_list
    by_venue = admin_client.get(url, {"venue__id__exact": admin_data.venue.pk})

    assert list(by_type) == [admin_data.events[1]]
    assert set(recent) == {admin_data.events[1], admin_data.other_event}
    assert len(by_venue.context["cl"].result_list) == 3


def test_profile_list_filters_by_segment_and_rfm_segment(admin_client, admin_data):
    url = changelist("customerprofile")

    regular = admin_client.get(url, {"segment": "regular"}).context["cl"].result_list
    lost = admin_client.get(url, {"segment": "lost"}).context["cl"].result_list
    loyalists = admin_client.get(url, {"rfm_segment": "Potential Loyalists"}).context["cl"]

    assert list(regular) == [admin_data.profile]
    assert list(lost) == []
    assert list(loyalists.result_list) == [admin_data.profile]


def test_profile_list_sorts_by_spend_within_a_venue(admin_client, admin_data):
    big = ProfileFactory(venue=admin_data.venue, total_spent="9999.00")
    url = changelist("customerprofile")
    venue = {"venue__id__exact": admin_data.venue.pk}
    # The admin's ?o= is a position in list_display (no action column on a read-only list).
    spend_column = CustomerProfileAdmin.list_display.index("total_spent")

    ascending = admin_client.get(url, {**venue, "o": str(spend_column)})
    descending = admin_client.get(url, {**venue, "o": f"-{spend_column}"})

    assert list(ascending.context["cl"].result_list) == [admin_data.profile, big]
    assert list(descending.context["cl"].result_list) == [big, admin_data.profile]
    assert "sortable" in header_classes(descending, "total_spent")


def test_profile_columns_are_not_sortable_across_venues(admin_client, admin_data):
    response = admin_client.get(changelist("customerprofile"))

    assert "sortable" not in header_classes(response, "total_spent")


def header_classes(response, column: str) -> str:  # type: ignore[no-untyped-def]
    """The CSS classes of a changelist column header, "sortable" when it can be sorted."""
    match = re.search(rf'<th scope="col" class="([^"]*column-{column}[^"]*)"', response.text)
    assert match, column
    return match.group(1)


@pytest.mark.parametrize(
    "params",
    [
        {"occurred_within": "forever"},
        {"segment": "nonsense"},
        {"rfm_segment": "Other"},
        {"venue__id__exact": "not-a-uuid"},
        {"p": "zzz"},
    ],
)
def test_bad_filter_values_are_refused_without_a_server_error(admin_client, admin_data, params):
    model = "customerprofile" if set(params) & {"segment", "rfm_segment"} else "customerevent"

    response = admin_client.get(changelist(model), params)

    # The admin's answer to a bad lookup: back to the list with ?e=1, never a 500.
    assert response.status_code in {200, 302}
    if response.status_code == 302:
        assert "e=1" in response["Location"]


def test_celery_beat_schedules_are_in_the_admin(admin_client):
    response = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))

    assert response.status_code == 200


def test_times_are_shown_in_the_venue_time_zone_and_say_so(admin_client, admin_data):
    from datetime import UTC, datetime

    from customer_intel.models import CustomerProfile

    # 22:30 UTC on 30 June is 00:30 on 1 July in Paris (summer time, UTC+2).
    CustomerProfile.objects.filter(pk=admin_data.profile.pk).update(
        as_of=datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
    )

    listing = admin_client.get(changelist("customerprofile")).content.decode()
    detail = admin_client.get(change("customerprofile", admin_data.profile.pk)).content.decode()

    assert "2026-07-01 00:30 CEST" in listing
    assert "As of (venue time)" in listing
    assert "times in Europe/Paris, the venue&#x27;s time zone" in detail
    assert "July 1, 2026, 12:30 a.m." in detail
    assert "June 30, 2026" not in detail


def test_a_profile_reads_as_lists_and_rounded_figures_not_json(admin_client, admin_data):
    from customer_intel.models import CustomerProfile

    CustomerProfile.objects.filter(pk=admin_data.profile.pk).update(
        preferred_event_types=["jazz", "comedy"],
        probability_alive=0.912345678,
        refunds_exceed_purchases=True,
    )

    html = admin_client.get(change("customerprofile", admin_data.profile.pk)).content.decode()

    assert re.search(r"<li>jazz</li>\s*<li>comedy</li>", html)
    assert "<strong>VIP Customer</strong> (high impact)" in html
    assert '"title"' not in html  # no JSON left
    assert "0.912<" in html and "0.912345678" not in html
    assert "Refunds exceed purchases" in html


def test_plural_names_read_as_english(admin_client, admin_data):
    home = admin_client.get(reverse("admin:index")).content.decode()
    assert "Customer facts<" in home and "factss" not in home
    assert "Privacy audit entries" in home


def test_a_venue_page_shows_its_live_as_of_in_its_own_time_zone(admin_client, admin_data):
    from datetime import UTC, datetime

    from customer_intel.models import RecomputeRun, RunStatus

    RecomputeRun.objects.filter(pk=admin_data.run.pk).update(
        status=RunStatus.SUCCEEDED, as_of=datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
    )

    html = admin_client.get(change("venue", admin_data.venue.pk)).content.decode()

    assert "times in Europe/Paris, the venue&#x27;s time zone" in html
    assert "2026-01-16 00:30 CET" in html
