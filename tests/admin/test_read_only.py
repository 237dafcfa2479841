"""The event log and the caches are read-only in the admin: no add, no change, no delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customer_intel.models import CustomerEvent, CustomerProfile, RecomputeRun

pytestmark = pytest.mark.django_db

READ_ONLY = [
    ("customerevent", "other_event"),
    ("customerprofile", "profile"),
    ("recomputerun", "run"),
    ("predictionmodelfit", "fit"),
    ("segmentsnapshot", "snapshot"),
    ("customerfacts", "facts"),
    ("pendingcustomer", "pending"),
]


def url(model_name: str, view: str, *args: object) -> str:
    return reverse(f"admin:customer_intel_{model_name}_{view}", args=args)


@pytest.mark.parametrize(("model_name", "attribute"), READ_ONLY)
def test_no_add_button_and_add_page_refused(admin_client, admin_data, model_name, attribute):
    listing = admin_client.get(url(model_name, "changelist"))

    assert listing.status_code == 200
    assert url(model_name, "add") not in listing.content.decode()
    assert admin_client.get(url(model_name, "add")).status_code == 403
    assert admin_client.post(url(model_name, "add"), {}).status_code == 403


@pytest.mark.parametrize(("model_name", "attribute"), READ_ONLY)
def test_detail_is_view_only_and_delete_refused(admin_client, admin_data, model_name, attribute):
    row = getattr(admin_data, attribute)

    detail = admin_client.get(url(model_name, "change", row.pk))

    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'name="_save"' not in html
    assert url(model_name, "delete", row.pk) not in html
    assert admin_client.post(url(model_name, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


def test_post_to_an_event_is_refused_and_changes_nothing(admin_client, admin_data):
    event = admin_data.other_event

    response = admin_client.post(
        url("customerevent", "change", event.pk),
        {"type": "ticket.refunded", "amount": "0", "event_id": "forged"},
    )

    assert response.status_code == 403
    event.refresh_from_db()
    assert (event.type, event.amount, event.event_id) == (
        "ticket.purchased",
        admin_data.other_event.amount,
        "bob-1",
    )


def test_post_to_a_profile_is_refused_and_changes_nothing(admin_client, admin_data):
    profile = admin_data.profile

    response = admin_client.post(
        url("customerprofile", "change", profile.pk),
        {"segment": "vip", "total_spent": "1"},
    )

    assert response.status_code == 403
    assert CustomerProfile.objects.get(pk=profile.pk).segment == "regular"


def test_no_bulk_delete_action_on_the_event_log(admin_client, admin_data):
    response = admin_client.post(
        url("customerevent", "changelist"),
        {"action": "delete_selected", "_selected_action": [admin_data.other_event.pk]},
    )

    assert response.status_code in {200, 302}
    assert CustomerEvent.objects.filter(pk=admin_data.other_event.pk).exists()
    assert RecomputeRun.objects.filter(venue=admin_data.venue).count() == 2
