"""Logging filter that keeps raw customer ids out of log lines.

Code never logs a raw id on purpose; this filter is the safety net for what slips through an
exception message or a third-party logger (request paths carry customer ids, for instance).
"""

from __future__ import annotations

import logging
import re

# A customer id can appear in a URL path after /customers/venue/<uuid>/ or as a query value.
_END = r"(?:[/?\s\"']|$)"
# A raw id may itself contain "/", so it runs up to a known route suffix or the path's end.
_PATH_CUSTOMER = re.compile(
    r"(/customers/venue/[^/\s]+/)(?!(?:search|segments|recompute)" + _END + r")"
    r"(.+?)(?=/(?:insights|journey|rfm|clv)" + _END + r"|[?\s\"']|$)",
    re.MULTILINE,
)
_QUERY_CUSTOMER = re.compile(r"([?&](?:q|customerId|customer_id)=)([^&\s\"']+)")
_JSON_CUSTOMER = re.compile(r"(['\"]customer_?[iI]d['\"]\s*:\s*['\"])([^'\"]*)")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with anything in a customer-id position replaced; pseudonyms are kept."""

    def keep_pseudonym(match: re.Match[str]) -> str:
        value = match.group(2)
        if re.fullmatch(r"[0-9a-f]{64}", value):
            return match.group(0)
        return match.group(1) + REDACTED

    for pattern in (_PATH_CUSTOMER, _QUERY_CUSTOMER, _JSON_CUSTOMER):
        text = pattern.sub(keep_pseudonym, text)
    return text


class RedactCustomerIdsFilter(logging.Filter):
    """Rewrites each record's message with customer ids redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must still not leak its arguments
            message = str(record.msg)
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
