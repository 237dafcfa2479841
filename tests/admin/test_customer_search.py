"""Operators look a customer up by raw id or pseudonym; the raw id is never shown back."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin.conftest import RAW_CUSTOMER_ID

pytestmark = pytest.mark.django_db

# Rows the admin_data fixture holds for RAW_CUSTOMER_ID, per searchable model.
ROWS_OF_RAW_CUSTOMER = {
    "customerevent": 2,
    "customerprofile": 1,
    "customerfacts": 1,
    "pendingcustomer": 0,
}
SEARCHABLE = list(ROWS_OF_RAW_CUSTOMER)


def changelist(model_name: str) -> str:
    return reverse(f"admin:customer_intel_{model_name}_changelist")


def test_raw_id_search_redirects_to_the_pseudonym_search(admin_client, admin_data):
    response = admin_client.get(changelist("customerevent"), {"q": RAW_CUSTOMER_ID})

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == changelist("customerevent")
    assert parse_qs(location.query)["q"] == [admin_data.pseudonym]
    assert RAW_CUSTOMER_ID not in response["Location"]


def test_raw_id_search_finds_only_that_customers_events(admin_client, admin_data):
    response = admin_client.get(changelist("customerevent"), {"q": RAW_CUSTOMER_ID}, follow=True)

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(admin_data.events)


@pytest.mark.parametrize("model_name", SEARCHABLE)
def test_raw_id_appears_nowhere_in_the_answers(admin_client, admin_data, model_name):
    # Other parameters survive the redirect, and the page links carry them: none may hold the
    # raw id, in plain or URL-encoded form.
    response = admin_client.get(
        changelist(model_name),
        {"q": f"  {RAW_CUSTOMER_ID} ", "venue__id__exact": admin_data.venue.pk},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    locations = [url for url, _ in response.redirect_chain]
    for text in [page, *locations]:
        assert RAW_CUSTOMER_ID not in text
        assert quote(RAW_CUSTOMER_ID) not in text
        assert quote(RAW_CUSTOMER_ID, safe="") not in text
    assert response.redirect_chain, "a raw id must be swapped for its pseudonym"
    assert f'value="{admin_data.pseudonym}"' in page  # the search box shows the pseudonym
    assert len(response.context["cl"].result_list) == ROWS_OF_RAW_CUSTOMER[model_name]


def test_profile_found_by_raw_id(admin_client, admin_data):
    response = admin_client.get(changelist("customerprofile"), {"q": RAW_CUSTOMER_ID}, follow=True)

    assert list(response.context["cl"].result_list) == [admin_data.profile]


def test_pseudonym_search_is_answered_directly(admin_client, admin_data):
    response = admin_client.get(changelist("customerevent"), {"q": admin_data.pseudonym})

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(admin_data.events)


def test_search_is_exact_not_a_substring_scan(admin_client, admin_data):
    prefix = admin_data.pseudonym[:12]

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist("customerevent"), {"q": prefix}, follow=True)

    # A prefix of a pseudonym is a (different) raw id, hashed: it matches nobody.
    assert list(response.context["cl"].result_list) == []
    assert not [q["sql"] for q in queries if "LIKE" in q["sql"].upper()]


def test_unknown_customer_finds_nothing(admin_client, admin_data):
    response = admin_client.get(
        changelist("customerevent"), {"q": "nobody@example.com"}, follow=True
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_blank_search_lists_everything(admin_client, admin_data):
    response = admin_client.get(changelist("customerevent"), {"q": "   "}, follow=True)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3
