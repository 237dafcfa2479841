"""OpenAPI post-processing: what drf-spectacular cannot read from a serializer or a form."""

from __future__ import annotations

from typing import Any

from customer_intel.api.filters import SearchParameters
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
    """Mark the search filters `allowEmptyValue`: an empty filter (`?segment=`, as campaign
    tools send unset fields) is not given, as Django's form reads it."""
    filters = set(SearchParameters.base_fields)
    for parameter in result["paths"][SEARCH_PATH]["get"]["parameters"]:
        if parameter["in"] == "query" and parameter["name"] in filters:
            parameter["allowEmptyValue"] = True
    return result


def amount_when_paying(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Say in the event's schema that a purchase or a refund needs an amount (not null), as
    the validation does: one branch per kind of event type (OpenAPI 3.0 has no if/then)."""
    schemas = result["components"]["schemas"]
    event = schemas["EventInRequest"]
    amount = event["properties"]["amount"]
    present = {
        key: value for key, value in amount.items() if key not in ("nullable", "description")
    }
    event["anyOf"] = [
        {
            "properties": {
                "type": {
                    "enum": [t for t in schemas["EventInTypeEnum"]["enum"] if t not in PAYING_TYPES]
                }
            }
        },
        {
            "properties": {"type": {"enum": sorted(PAYING_TYPES)}, "amount": present},
            "required": ["amount"],
        },
    ]
    return result
