"""The CSV renderer that makes `?format=csv` (or `Accept: text/csv`) a negotiated format.

The search view streams the CSV itself; this renderer only lets DRF's content negotiation pick
the format, so CSV appears in the OpenAPI schema and an unknown format stays an error.
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
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
