"""The orjson renderer writes what DRF's JSON renderer writes, values for values."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from customer_intel.api.renderers import FastJSONRenderer

VENUE = uuid.UUID("5d7f3f3e-1c7a-4d7e-9a3b-2f0c1e9b8a01")

DOCUMENTS = [
    {"ok": True},
    [],
    {
        "utc": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        "micro": datetime(2026, 3, 1, 12, 0, 0, 120, tzinfo=UTC),
        "offset": datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2026, 3, 1, 12, 0),
        "day": date(2026, 3, 1),
        "clock": time(9, 30, 5),
        "span": timedelta(minutes=3, seconds=1.5),
        "money": Decimal("1234.50"),
        "uuid": VENUE,
        "lazy": gettext_lazy("Not found."),
        "error": ErrorDetail("Must be a number.", code="invalid"),
        "nested": ReturnDict({"a": [1, 2.5, None, "é\u2028"]}, serializer=None),
        "tuple": (1, 2),
    },
    {"share": 12.5, "small": 1e-05, "other": None},
]


@pytest.mark.parametrize("data", DOCUMENTS)
def test_values_read_as_drf_writes_them(data):
    ours = json.loads(FastJSONRenderer().render(data))
    drf = json.loads(JSONRenderer().render(data))
    assert ours == drf


def test_nothing_renders_empty():
    assert FastJSONRenderer().render(None) == b""


def test_indent_when_asked():
    body = FastJSONRenderer().render({"a": [1]}, "application/json; indent=4")
    assert body == b'{\n  "a": [\n    1\n  ]\n}'
