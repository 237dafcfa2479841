"""Logging filter that keeps raw customer ids out of log lines.

Code never logs a raw id on purpose; this filter is the safety net for what slips through a
request line, an error message or a traceback (request paths carry customer ids).

A customer id may hold any character: a space, a quote, `?`, `/`, `%`, a route word, non-ASCII
text. So the filter does not guess where an id ends from its characters; it finds where the
*path* ends, decodes it and redacts the whole customer segment:

- in a request line (`GET <target> HTTP/1.1"`, as the development server and gunicorn write
  it) the target is percent-encoded, holds no whitespace and ends at ` HTTP/`: its path is
  decoded and routed the way Django routes it, and `q=` (and `customerId=`) values of its
  query are redacted;
- in a record of Django's request loggers (`Not Found: <path>`) the decoded path is the
  request's own `path`, replaced as a whole;
- anywhere else (an exception message) a path is taken as decoded, without a query, and
  running to the end of the line: a `?`, a space or a quote is part of the id there.

The fixed routes of a venue (segments, search, recompute, ...) and 64-hex pseudonyms are kept.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

PATH_PREFIX = "/customers/venue/"
REDACTED = "[redacted]"

# Fixed routes under a venue: the whole rest of the path is one of these, never a customer.
_VENUE_ROUTE = re.compile(r"segments(?:/history|/flows)?|search|recompute(?:/\d+)?")
# A customer URL may end with one of these (Django routes ".../<id>/rfm" to the RFM view).
_CUSTOMER_SUFFIXES = ("/insights", "/journey", "/rfm", "/clv")
_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
# A request line's target: no whitespace, then " HTTP/1.1" and a quote or the line's end.
_REQUEST_TARGET = re.compile(r'\S*(?= HTTP/\d(?:\.\d)?(?:"|$))')
# A query value naming a customer runs to the next parameter, a fragment, the end of a request
# line's target, or the end of the line.
_QUERY_CUSTOMER = re.compile(
    r"([?&](?:q|customerId|customer_id)=)(.*?)(?=[&#]| HTTP/\d|$)", re.MULTILINE
)
# "customerId": "..." in JSON or a Python repr, escaped quotes included.
_JSON_CUSTOMER = re.compile(
    r"""(["']customer_?[iI]d["']\s*:\s*)("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
)


def redact_request_path(path: str) -> str:
    """A decoded request path (Django's `request.path`) with its customer segment redacted:
    its extent is known exactly, whatever the id holds."""
    if not path.startswith(PATH_PREFIX):
        return path
    return PATH_PREFIX + _redact_target(path[len(PATH_PREFIX) :], encoded=False)


def redact(text: str) -> str:
    """`text` with every raw customer id replaced by [redacted]; pseudonyms are kept."""
    if PATH_PREFIX in text:
        text = "".join(_redact_paths(line) for line in text.splitlines(keepends=True))
    text = _QUERY_CUSTOMER.sub(_keep_pseudonym, text)
    return _JSON_CUSTOMER.sub(_keep_quoted_pseudonym, text)


def _redact_paths(line: str) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    parts: list[str] = []
    position = 0
    while (found := body.find(PATH_PREFIX, position)) >= 0:
        start = found + len(PATH_PREFIX)
        request_target = _REQUEST_TARGET.match(body, start)
        end = request_target.end() if request_target else len(body)
        parts.append(body[position:start])
        parts.append(_redact_target(body[start:end], encoded=request_target is not None))
        position = end
    parts.append(body[position:])
    return "".join(parts) + ending


def _redact_target(target: str, *, encoded: bool) -> str:
    """`<venue>/<rest>[?query]` after the prefix, with the customer segment redacted."""
    query = ""
    if encoded:
        path, mark, query = target.partition("?")
        path = unquote(path, errors="replace")
        query = mark + query
    else:
        path = target
    venue, slash, rest = path.partition("/")
    if not rest or _VENUE_ROUTE.fullmatch(rest):
        return path + query
    customer, suffix = rest, ""
    for route in _CUSTOMER_SUFFIXES:
        if rest.endswith(route) and len(rest) > len(route):
            customer, suffix = rest[: -len(route)], route
            break
    if not _PSEUDONYM.fullmatch(customer):
        customer = REDACTED
    return f"{venue}{slash}{customer}{suffix}{query}"


def _keep_pseudonym(match: re.Match[str]) -> str:
    if _PSEUDONYM.fullmatch(match.group(2)):
        return match.group(0)
    return match.group(1) + REDACTED


def _keep_quoted_pseudonym(match: re.Match[str]) -> str:
    quoted = match.group(2)
    if _PSEUDONYM.fullmatch(quoted[1:-1]):
        return match.group(0)
    return f"{match.group(1)}{quoted[0]}{REDACTED}{quoted[0]}"


class RedactCustomerIdsFilter(logging.Filter):
    """Rewrites each record's message, and its traceback text, with customer ids redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must still not leak its arguments
            message = str(record.msg)
        redacted = message
        # Django's request loggers attach the request: its decoded path is known exactly.
        path = getattr(getattr(record, "request", None), "path", None)
        if isinstance(path, str) and path.startswith(PATH_PREFIX):
            redacted = redacted.replace(path, redact_request_path(path))
        redacted = redact(redacted)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info:
            # The formatter prints exc_text when it is set: an exception's message may quote a
            # request path.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
