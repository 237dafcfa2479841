"""Test settings: real PostgreSQL and real Redis, as production uses them."""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, POSTGRESQL_OPTIONS

DATABASES["default"] = {
    **DATABASES["default"],
    **__import__("dj_database_url").parse(
        os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/customer_intel"),
        conn_max_age=0,
    ),
    # The options production runs with (server-side binding, prepared statements).
    "OPTIONS": dict(POSTGRESQL_OPTIONS),
}
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
# Views and services queue tasks on commit; the tests that need a worker start a real one.
CELERY_TASK_ALWAYS_EAGER = False
CUSTOMER_ID_HMAC_KEY = "test-hmac-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"token": "100000/min"},
}
