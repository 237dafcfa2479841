"""Every failure in the API's error shape, a recompute body that is not an object refused, and
no silent start on the public development key."""

from __future__ import annotations

import os

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from customer_intel.api import erasure_views
from customer_intel.models import RecomputeRun
from tests.embedded import run_python, sqlite_env


def _assert_error_shape(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/customers/",
        "/customers/venue/",
        "/customers/nothing/here",
        "/events/",
        "/events/venue/x/extra",
        "/events",
        # Django's path converters never match a newline: no API route can take this.
        "/customers/venue/3f2c1a9e-1111-4222-8333-444455556666/a%0Ab",
    ],
)
@pytest.mark.django_db
def test_paths_under_the_api_that_no_route_takes_answer_the_json_404(path, writer_client):
    _assert_error_shape(writer_client.get(path), 404, "not_found")
    _assert_error_shape(APIClient().get(path), 404, "not_found")


@pytest.mark.django_db
def test_a_write_to_a_path_no_route_takes_is_the_404_not_a_csrf_page():
    client = Client(enforce_csrf_checks=True)

    response = client.delete("/customers/venue/3f2c1a9e-1111-4222-8333-444455556666/a%0Ab")

    _assert_error_shape(response, 404, "not_found")


@pytest.mark.django_db
def test_an_uncaught_error_answers_500_in_the_error_shape(venue, writer_client, monkeypatch):
    def broken(**_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug")

    monkeypatch.setattr(erasure_views, "customer_erase", broken)
    writer_client.raise_request_exception = False

    response = writer_client.delete(f"/customers/venue/{venue.pk}/someone")

    _assert_error_shape(response, 500, "server_error")
    assert "bug" not in response.content.decode()


@pytest.mark.django_db
def test_a_lost_database_answers_503_with_a_retry_hint(venue, writer_client, monkeypatch):
    def database_gone(**_kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(erasure_views, "customer_erase", database_gone)
    writer_client.raise_request_exception = False

    response = writer_client.delete(f"/customers/venue/{venue.pk}/someone")

    _assert_error_shape(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("body", ["null", "[]", '""', "3", "true"])
@pytest.mark.django_db
def test_a_recompute_body_that_is_not_an_object_is_a_400(venue, writer_client, body):
    response = writer_client.post(
        f"/customers/venue/{venue.pk}/recompute", body, content_type="application/json"
    )

    _assert_error_shape(response, 400, "invalid")
    assert "body" in response.json()["error"]["details"]
    assert not RecomputeRun.objects.exists()


@pytest.mark.django_db
def test_a_recompute_body_must_be_json(venue, writer_client):
    response = writer_client.post(
        f"/customers/venue/{venue.pk}/recompute",
        "mode=",
        content_type="application/x-www-form-urlencoded",
    )

    _assert_error_shape(response, 415, "unsupported_media_type")
    assert not RecomputeRun.objects.exists()


@pytest.mark.parametrize("body", [None, "{}", '{"mode": "full"}'])
@pytest.mark.django_db
def test_an_empty_or_object_recompute_body_is_queued(venue, writer_client, body):
    url = f"/customers/venue/{venue.pk}/recompute"
    if body is None:
        response = writer_client.post(url)
    else:
        response = writer_client.post(url, body, content_type="application/json")

    assert response.status_code == 202, response.content
    assert RecomputeRun.objects.count() == 1


# --- the development key ----------------------------------------------------------------------


def _development_key_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CUSTOMER_ID_HMAC_KEY", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/15",
        **extra,
    )
    return env


@pytest.mark.parametrize(
    "command",
    [
        ["manage.py", "check"],
        ["manage.py", "migrate", "--plan"],
        ["-m", "celery", "-A", "config", "worker", "--pool=solo", "--without-mingle"],
        ["-m", "celery", "-A", "config", "beat", "--schedule", os.devnull],
        ["-c", "from config.wsgi import application"],
    ],
    ids=["command", "migrate", "worker", "beat", "web"],
)
def test_nothing_starts_on_postgresql_with_the_development_key(command):
    result = run_python(*command, env=_development_key_env(), timeout=120, check=False)

    assert result.returncode != 0
    assert "CUSTOMER_ID_HMAC_KEY" in result.stderr


def test_a_secret_key_starts_on_postgresql():
    result = run_python(
        "manage.py", "check", env=_development_key_env(CUSTOMER_ID_HMAC_KEY="s3cret"), timeout=120
    )

    assert "development" not in result.stderr


def test_the_embedded_default_says_first_that_it_uses_the_development_key(tmp_path):
    env = sqlite_env(tmp_path / "demo.sqlite3")
    env.pop("CUSTOMER_ID_HMAC_KEY", None)

    result = run_python("manage.py", "migrate", "--verbosity", "0", env=env, timeout=120)

    first_line = (result.stderr + result.stdout).splitlines()[0]
    assert "development" in first_line and "CUSTOMER_ID_HMAC_KEY" in first_line
