"""Production settings: secrets are required, DEBUG is off, cookies are secure."""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import env_bool

for required in ("SECRET_KEY", "CUSTOMER_ID_HMAC_KEY"):
    if not os.environ.get(required):
        raise ImproperlyConfigured(f"{required} must be set in production.")

DEBUG = env_bool("DEBUG", False)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# https://whitenoise.readthedocs.io/ : the admin's and the API docs' files (collected by
# `collectstatic`) served by the service itself, so no page depends on another host.
MIDDLEWARE = [
    MIDDLEWARE[0],  # noqa: F405  (SecurityMiddleware stays first)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[1:],  # noqa: F405
]
