"""Settings shared by every environment; everything that varies comes from the environment.

With nothing set the project runs on the embedded default: a SQLite file next to the code and
Celery tasks executed in-process, so a new user needs nothing but Python.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
# Only the development default lives here; production.py refuses to start without one.
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-secret-key-change-me")
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env_bool("DEBUG", False)
# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

# Key of the HMAC-SHA256 that turns raw customer ids into pseudonyms (customer_intel.privacy).
# Changing it makes every stored pseudonym unfindable, so production.py requires it explicitly.
# The development key is public: anyone can reverse its pseudonyms of guessable ids (emails),
# so the service refuses to start with it anywhere but the embedded default on SQLite.
DEVELOPMENT_HMAC_KEY = "dev-only-insecure-hmac-key"
CUSTOMER_ID_HMAC_KEY = os.environ.get("CUSTOMER_ID_HMAC_KEY", DEVELOPMENT_HMAC_KEY)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "customer_intel",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# https://github.com/jazzband/dj-database-url — DATABASE_URL=postgres://user@host:5432/name
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# https://docs.djangoproject.com/en/5.2/ref/databases/#server-side-parameters-binding
# Server-side binding lets psycopg prepare a statement once it has run `prepare_threshold`
# times on a connection, so PostgreSQL stops parsing and planning the lookups every API request
# makes (the token, the profile, the snapshot): it halves their database time. Caveat: behind
# pgbouncer in transaction mode, prepared statements need pgbouncer >= 1.21 with
# `max_prepared_statements` set (older versions or session-less poolers: remove both options).
POSTGRESQL_OPTIONS = {"server_side_binding": True, "prepare_threshold": 5}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        **POSTGRESQL_OPTIONS,
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "customer_intel.api.authentication.BearerOrTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "customer_intel.api.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "customer_intel.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["customer_intel.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("API_THROTTLE_RATE", "6000/min")},
    "UNAUTHENTICATED_USER": None,
}

# With CACHE_URL (Redis), the per-token throttle keeps its log there (customer_intel/api/
# throttling.py), so every worker and host counts the same requests, and Django's cache is
# shared too; without it, each process counts its own.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "customer-intel",
            # A cache that hangs must not hang requests: the throttle then lets them through.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Customer Intelligence API",
    "DESCRIPTION": "Customer profiles, segments, RFM, lifetime value, churn risk, insights "
    "and journeys per venue, served from a recomputed cache.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Path parameters named as the README names them: {venueId}, {customerId}, {runId}.
    "CAMELIZE_NAMES": True,
    # https://drf-spectacular.readthedocs.io/en/latest/settings.html : the UI files come
    # from the sidecar package, served by this service, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "customer_intel.api.schema_hooks.closed_request_bodies",
        "customer_intel.api.schema_hooks.empty_search_filters",
        "customer_intel.api.schema_hooks.amount_when_paying",
    ],
}

# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# No broker configured means the embedded default: tasks run in-process, synchronously.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard limit of the longest task (a full recompute); the broker's visibility timeout must stay
# above it or Redis would redeliver a late-acked task that is still running.
RECOMPUTE_SOFT_TIME_LIMIT = int(os.environ.get("RECOMPUTE_SOFT_TIME_LIMIT", "1800"))
RECOMPUTE_HARD_TIME_LIMIT = RECOMPUTE_SOFT_TIME_LIMIT + 120
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": RECOMPUTE_HARD_TIME_LIMIT + 600,
    # A frozen broker must not hold a request or a health check for long.
    "socket_connect_timeout": 2,
}
# Nightly full runs are spread out so venues don't all start at once.
FULL_RECOMPUTE_STAGGER_SECONDS = int(os.environ.get("FULL_RECOMPUTE_STAGGER_SECONDS", "60"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Ingestion and API bounds (SPEC: every request's work is bounded).
INGEST_MAX_BATCH = 5000
INGEST_MAX_FUTURE = timedelta(minutes=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_customer_ids": {"()": "customer_intel.logging.RedactCustomerIdsFilter"}},
    "formatters": {
        "structured": {
            "format": "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "structured",
            "filters": ["redact_customer_ids"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own handlers (its DEBUG console, the development server's request log) print
        # request paths, which may carry customer ids: route them through the redacting one.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
