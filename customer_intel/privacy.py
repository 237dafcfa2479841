"""Keyed pseudonyms: the only code that ever holds a raw customer id.

A raw id is replaced on the way in by HMAC-SHA256 under `CUSTOMER_ID_HMAC_KEY`, hex-encoded.
The same raw id gives the same pseudonym at every venue and on every day, so stored events stay
findable (the replaced service salted the hash daily, which made them unfindable).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PSEUDONYM_RE = re.compile(r"^[0-9a-f]{64}$")


def is_pseudonym(value: str) -> bool:
    """True when `value` is already a pseudonym: exactly 64 lowercase hex characters."""
    return bool(PSEUDONYM_RE.fullmatch(value))


@functools.lru_cache(maxsize=4)
def _keyed_hmac(key: str) -> hmac.HMAC:
    # Keying an HMAC costs as much as hashing a short id; copy a keyed one instead.
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def pseudonymize(raw_customer_id: str) -> str:
    """The pseudonym of a raw customer id."""
    mac = _keyed_hmac(settings.CUSTOMER_ID_HMAC_KEY).copy()
    mac.update(raw_customer_id.encode())
    return mac.hexdigest()


def resolve_customer_id(customer_id: str) -> str:
    """A path or query customer id as a pseudonym: pseudonyms pass through, raw ids are hashed."""
    if is_pseudonym(customer_id):
        return customer_id
    return pseudonymize(customer_id)


DEVELOPMENT_KEY_NOTICE = (
    "NOTICE: using the public development CUSTOMER_ID_HMAC_KEY (embedded SQLite default): "
    "for demo data only; set CUSTOMER_ID_HMAC_KEY before storing real customer ids."
)


def check_hmac_key() -> None:
    """Refuse the public development key outside the embedded SQLite default; say so there.

    Called when the app loads, so the web server, workers, beat and every command refuse to
    start. With that key, pseudonyms of guessable ids (emails) can be reversed by anyone.
    """
    if settings.CUSTOMER_ID_HMAC_KEY != settings.DEVELOPMENT_HMAC_KEY:
        return
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        raise ImproperlyConfigured(
            "CUSTOMER_ID_HMAC_KEY is not set (or is the public development key): set it to a "
            "secret before running against this database. Only the embedded SQLite default "
            "may use the development key."
        )
    print(DEVELOPMENT_KEY_NOTICE, file=sys.stderr, flush=True)
