"""Settings of the API benchmark's server: the product's settings with a URL conf that adds
a minimal authenticated endpoint to compare against."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
DEBUG = False
