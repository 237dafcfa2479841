"""No raw customer id reaches a log line, whatever characters it holds: the filter's rules on
every line shape, then a real server's logs of real requests."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from customer_intel.logging import RedactCustomerIdsFilter, redact
from customer_intel.privacy import pseudonymize
from tests.factories import MembershipFactory, token_for

VENUE = "3f2c1a9e-1111-4222-8333-444455556666"
ROOT = Path(__file__).resolve().parents[2]

# Each id puts a marker after the character a redactor might stop at; the marker must never
# appear in a log line.
ID_SHAPES = {
    "space": "probe-space MARKSPACE7731@example.com",
    "double quote": 'say "MARKDQUOTE" twice',
    "single quote": "o'MARKSQUOTE",
    "question mark": "what?MARKQMARK=1&x=2",
    "slash": "alice/MARKSLASH/smith",
    "percent": "100%MARKPERCENT",
    "encoded-looking percent": "a%20MARKPCT20",
    "hash": "fan#MARKHASH",
    "route word first": "search/MARKROUTE",
    "route word with a space": "segments MARKSEGMENTS",
    "route word at the end": "MARKTAIL x/rfm",
    "backslash": "back\\MARKBACKSLASH",
    "non-ASCII": "jöhn-€-MARKUNICODE-ü",
    "HTTP lookalike": "x HTTP/1.1 MARKHTTP",
}
MARKERS = [re.search(r"MARK[A-Z0-9]+", shape).group() for shape in ID_SHAPES.values()]


def _request_line(path: str, method: str = "GET") -> str:
    return f'"{method} {path} HTTP/1.1" 404 58'


@pytest.mark.parametrize("raw_id", list(ID_SHAPES.values()), ids=list(ID_SHAPES))
@pytest.mark.parametrize("suffix", ["", "/rfm", "/journey"])
def test_request_lines_and_decoded_paths_lose_the_whole_id(raw_id, suffix):
    encoded = quote(raw_id, safe="")
    lines = [
        _request_line(f"/customers/venue/{VENUE}/{encoded}{suffix}"),
        _request_line(f"/customers/venue/{VENUE}/{encoded}{suffix}?cursor=abc", "DELETE"),
        # Django's own "Not Found: <path>" carries the decoded path.
        f"Not Found: /customers/venue/{VENUE}/{raw_id}{suffix}",
        f"Unauthorized: /customers/venue/{VENUE}/{raw_id}{suffix}\nnext line stays",
        _request_line(f"/customers/venue/{VENUE}/search?q={encoded}&segment=vip"),
        f'{{"customerId": "{raw_id.replace(chr(92), "").replace(chr(34), chr(92) + chr(34))}"}}',
    ]
    for line in lines:
        redacted = redact(line)
        assert "MARK" not in redacted, (line, redacted)
        assert "[redacted]" in redacted


def test_what_is_not_a_customer_id_is_kept():
    pseudonym = pseudonymize("kept")
    kept = [
        _request_line(f"/customers/venue/{VENUE}/{pseudonym}/rfm"),
        _request_line(f"/customers/venue/{VENUE}/segments?by=rfm"),
        _request_line(f"/customers/venue/{VENUE}/segments/history?from=2026-01-01"),
        _request_line(f"/customers/venue/{VENUE}/search?segment=vip&q={pseudonym}"),
        _request_line(f"/customers/venue/{VENUE}/recompute", "POST"),
        f"Not Found: /customers/venue/{VENUE}/search",
        f'"GET /events/venue/{VENUE} HTTP/1.1" 200 9',
        "recompute_succeeded venue=x run=3 customers=10",
    ]
    for line in kept:
        assert redact(line) == line


def test_the_suffix_and_the_status_survive_the_redaction():
    line = _request_line(f"/customers/venue/{VENUE}/{quote('a b/c', safe='')}/clv")

    assert redact(line) == _request_line(f"/customers/venue/{VENUE}/[redacted]/clv")


def test_a_request_loggers_record_is_redacted_by_its_requests_path():
    path = f'/customers/venue/{VENUE}/x HTTP/1.1" MARKEXACT'
    record = logging.LogRecord(
        "django.request", 30, __file__, 1, "%s: %s", ("Not Found", path), None
    )
    record.request = type("Request", (), {"path": path})()

    RedactCustomerIdsFilter().filter(record)

    assert record.getMessage() == f"Not Found: /customers/venue/{VENUE}/[redacted]"


def test_tracebacks_are_redacted_too():
    try:
        raise ValueError(f"no route for /customers/venue/{VENUE}/secret MARKTRACE id")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    RedactCustomerIdsFilter().filter(record)

    assert "MARKTRACE" not in logging.Formatter().format(record)


# --- a real server ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, *, method: str = "GET", token: str | None = None) -> int:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - a local http URL
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local URL
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.django_db(transaction=True)
def test_a_running_servers_logs_carry_no_raw_id(venue, tmp_path):
    token = token_for(MembershipFactory(venue=venue, can_write=True).user)
    database = connection.settings_dict
    port = _free_port()
    log = (tmp_path / "server.log").open("w+")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}",
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while _get_or_none(f"{base}/health") is None:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        statuses = set()
        for raw_id in ID_SHAPES.values():
            path = f"{base}/customers/venue/{venue.pk}/{quote(raw_id, safe='')}"
            statuses.add(_get(path))  # anonymous: 401
            statuses.add(_get(path + "/rfm", token=token))  # unknown customer: 404
            statuses.add(_get(path, method="DELETE", token=token))
            statuses.add(_get(f"{base}/customers/venue/{venue.pk}/search?q={quote(raw_id)}"))
        # 405: DELETE of an id ending in /rfm reaches the RFM view, which only reads.
        assert statuses <= {401, 404, 405}
    finally:
        server.terminate()
        server.wait(timeout=10)
    log.seek(0)
    output = log.read()

    assert f"/customers/venue/{venue.pk}/[redacted]" in output
    assert "Not Found" in output and "Unauthorized" in output
    for marker in MARKERS:
        assert marker not in output, marker


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url)
    except OSError:
        return None
