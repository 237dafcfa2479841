"""OpenAPI post-processing: what drf-spectacular cannot read from a serializer or a form."""

from __future__ import annotations

from typing import Any

from customer_intel.api.filters import SearchParameters
from customer_intel.api.search_views import CSV_PARAMETER
from customer_intel.services.event_validation import PAYING_TYPES

# Request bodies that refuse unknown keys: a typo such as "ammount" must not pass silently
# (services/event_validation), and the schema says so.
CLOSED_OBJECTS = ("EventBatchRequest", "EventInRequest")
SEARCH_PATH = "/customers/venue/{venueId}/search"


def closed_request_bodies(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Mark the closed request bodies `additionalProperties: false`."""
    schemas = result["components"]["schemas"]
    for name in CLOSED_OBJECTS:
        schemas[name]["additionalProperties"] = False
    return result


def empty_search_filters(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Mark the search filters and `format` `allowEmptyValue`: an empty filter (`?segment=`,
    as campaign tools send unset fields) is not given, as Django's form reads it, and an empty
    format is the default, JSON."""
    filters = {*SearchParameters.base_fields, CSV_PARAMETER.name}
    for parameter in result["paths"][SEARCH_PATH]["get"]["parameters"]:
        if parameter["in"] == "query" and parameter["name"] in filters:
            parameter["allowEmptyValue"] = True
    return result


def amount_when_paying(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Say in the event's schema that a purchase or a refund needs an amount (not null), as
    the validation does: one branch per kind of event type (OpenAPI 3.0 has no if/then)."""
    schemas = result["components"]["schemas"]
    types = schemas["EventInTypeEnum"]["enum"]
    schemas["EventInRequest"]["anyOf"] = [
        {"properties": {"type": {"enum": [t for t in types if t not in PAYING_TYPES]}}},
        {
            "properties": {
                "type": {"enum": sorted(PAYING_TYPES)},
                "amount": {"not": {"enum": [None]}},
            },
            "required": ["amount"],
        },
    ]
    return result
