"""The pages a person opens in a browser work with no internet: nothing comes from another host."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.test import Client

# src/href attributes and CSS url()s that point at an absolute address.
EXTERNAL_REFERENCE = re.compile(
    r"""(?:src|href|action)\s*=\s*["']\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)
STATIC_REFERENCE = re.compile(r"""["'](/static/[^"'?#]+)""")


def _external_references(html: str) -> list[str]:
    return [html[max(0, m.start() - 40) : m.end() + 60] for m in EXTERNAL_REFERENCE.finditer(html)]


@pytest.fixture
def staff_client(db) -> Client:
    user = get_user_model().objects.create_user("operator", password="pw", is_staff=True)
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


PAGES = ["/", "/api/docs/", "/api/redoc/", "/api-auth/login/", "/admin/login/"]
STAFF_PAGES = ["/admin/", "/admin/customer_intel/venue/", "/admin/customer_intel/recomputerun/"]


@pytest.mark.parametrize("path", PAGES)
def test_public_pages_reference_no_other_host(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert _external_references(response.content.decode()) == []


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_admin_pages_reference_no_other_host(staff_client: Client, path: str) -> None:
    response = staff_client.get(path)
    assert response.status_code == 200
    assert _external_references(response.content.decode()) == []


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_load_their_scripts_from_the_service_itself(client: Client, path: str) -> None:
    html = client.get(path).content.decode()
    scripts = [ref for ref in STATIC_REFERENCE.findall(html) if ref.endswith(".js")]
    assert scripts, "the docs page loads no script of the service's own"
    for ref in scripts:
        assert finders.find(ref.removeprefix("/static/")), f"{ref} is not a static file we serve"


def test_landing_page_links_docs_schema_admin_and_health(client: Client) -> None:
    html = client.get("/").content.decode()
    for target in ("/api/docs/", "/api/schema/", "/admin/", "/health"):
        assert f'href="{target}' in html


def test_browsable_api_offers_a_login_link(client: Client) -> None:
    response = client.get(
        "/customers/venue/00000000-0000-0000-0000-000000000000/segments", HTTP_ACCEPT="text/html"
    )
    assert response.status_code in (401, 403)
    assert "/api-auth/login/" in response.content.decode()


def test_the_schema_names_path_parameters_as_the_readme_does(client: Client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    assert "/customers/venue/{venueId}/{customerId}" in schema["paths"]
    assert not any("venue_id" in path for path in schema["paths"])
