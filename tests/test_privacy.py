import logging
import os

from customer_intel.logging import RedactCustomerIdsFilter, redact
from customer_intel.privacy import is_pseudonym, pseudonymize, resolve_customer_id
from tests.embedded import run_python


def test_pseudonym_is_stable_64_lowercase_hex(settings):
    settings.CUSTOMER_ID_HMAC_KEY = "k1"
    first = pseudonymize("alice@example.com")
    assert first == pseudonymize("alice@example.com")
    assert is_pseudonym(first)


def test_pseudonym_depends_on_the_key(settings):
    settings.CUSTOMER_ID_HMAC_KEY = "k1"
    one = pseudonymize("alice")
    settings.CUSTOMER_ID_HMAC_KEY = "k2"
    assert pseudonymize("alice") != one


def test_resolve_passes_pseudonyms_through_and_hashes_raw_ids():
    pseudonym = pseudonymize("bob")
    assert resolve_customer_id(pseudonym) == pseudonym
    assert resolve_customer_id("bob") == pseudonym
    # Uppercase hex is not a pseudonym: it is hashed like any raw id.
    assert resolve_customer_id(pseudonym.upper()) != pseudonym


def test_redact_removes_raw_ids_but_keeps_pseudonyms():
    venue = "3f2c1a9e-1111-4222-8333-444455556666"
    pseudonym = pseudonymize("carol")
    assert "carol" not in redact(f"GET /customers/venue/{venue}/carol/rfm")
    assert pseudonym in redact(f"GET /customers/venue/{venue}/{pseudonym}")
    assert "carol" not in redact('{"customerId": "carol"}')
    assert "carol" not in redact("/customers/venue/x/search?q=carol&segment=vip")
    assert "/segments" in redact(f"/customers/venue/{venue}/segments")


def test_logging_filter_rewrites_records():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        ("/customers/venue/3f2c1a9e-1111-4222-8333-444455556666/dave",),
        None,
    )
    assert RedactCustomerIdsFilter().filter(record)
    assert "dave" not in record.getMessage()


def test_redact_covers_raw_ids_containing_slashes_and_route_like_prefixes():
    venue = "3f2c1a9e-1111-4222-8333-444455556666"
    line = redact(f'"GET /customers/venue/{venue}/alice/smith/rfm HTTP/1.1" 404 58')
    assert "alice" not in line and "smith" not in line
    assert line.endswith('/[redacted]/rfm HTTP/1.1" 404 58')
    assert "search-eve" not in redact(f"/customers/venue/{venue}/search-eve")
    search = redact(f'"GET /customers/venue/{venue}/search?segment=vip HTTP/1.1" 200 9')
    assert search.endswith('/search?segment=vip HTTP/1.1" 200 9')


def test_request_logs_of_a_configured_process_carry_no_raw_id():
    """Django's request loggers (the dev server's included) write through the redacting filter."""
    script = (
        "import django, logging; django.setup();"
        "path = '/customers/venue/3f2c1a9e-1111-4222-8333-444455556666/erin-raw-id';"
        "logging.getLogger('django.server').info('\"GET %s HTTP/1.1\" 200 10', path);"
        "logging.getLogger('django.request').warning('Not Found: %s', path)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    result = run_python("-c", script, env=env)
    assert "GET /customers/venue/" in result.stderr
    assert "Not Found" in result.stderr
    assert "erin-raw-id" not in result.stderr + result.stdout, result.stderr
