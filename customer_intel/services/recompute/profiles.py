"""The profile table's rows: their layout, and writing them.

A profile row is a tuple in WRITE_FIELDS order: the computed values, the predictions, the
instants. A full run streams a venue's rows into the table after deleting its profiles; an
incremental run upserts its changed customers' rows (both through `db.bulk`, COPY on
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from customer_intel.analytics.predictive.outputs import PREDICTION_FIELDS
from customer_intel.analytics.profile import ProfileValues
from customer_intel.db.bulk import rows_insert, rows_upsert
from customer_intel.db.expressions import TextIn
from customer_intel.models import CustomerProfile, Venue

# A profile row is a tuple in this order: the computed values, the predictions, the instants.
VALUE_FIELDS: tuple[str, ...] = tuple(ProfileValues.__dataclass_fields__)
# The last two hold the segments a full run gave the customer (None from any other run): the
# next full run counts the moves between segments from them (customer_intel.trends.flows).
FULL_RUN_FIELDS: tuple[str, ...] = ("full_run_segment", "full_run_rfm_segment")
WRITE_FIELDS: tuple[str, ...] = (
    *VALUE_FIELDS,
    *PREDICTION_FIELDS,
    "as_of",
    "computed_at",
    *FULL_RUN_FIELDS,
)
CUSTOMER_INDEX = WRITE_FIELDS.index("customer")
SEGMENT_INDEX = WRITE_FIELDS.index("segment")
RFM_SEGMENT_INDEX = WRITE_FIELDS.index("rfm_segment")

_MODEL_FIELDS = {
    field.name
    for field in CustomerProfile._meta.concrete_fields
    if field.name not in {"id", "venue"}
}
if set(WRITE_FIELDS) != _MODEL_FIELDS:
    raise ImproperlyConfigured(
        "CustomerProfile columns and the engine's profile row disagree: "
        f"{sorted(set(WRITE_FIELDS) ^ _MODEL_FIELDS)}"
    )
_UNIQUE_KEY = ("venue", "customer")
# Only a full run sets the full-run segments; other runs' updates leave them as they were.
_UPDATE_FIELDS = [
    name for name in WRITE_FIELDS if name != "customer" and name not in FULL_RUN_FIELDS
]

ProfileRow = tuple[Any, ...]


def profile_instance(*, venue: Venue, row: ProfileRow) -> CustomerProfile:
    """An unsaved CustomerProfile from a profile row."""
    return CustomerProfile(venue=venue, **dict(zip(WRITE_FIELDS, row, strict=True)))


def profiles_clear(*, venue: Venue) -> None:
    """Delete the venue's profiles; inside the full run's transaction readers keep seeing them
    until it commits."""
    CustomerProfile.objects.filter(venue=venue).delete()


def profiles_insert(*, venue: Venue, rows: Iterable[ProfileRow]) -> int:
    """Insert new profiles (no row may exist for these customers); returns how many.

    Rows should come in customer order; they are streamed to the database as they come.
    """
    return rows_insert(
        CustomerProfile, fields=WRITE_FIELDS, rows=rows, fixed={"venue_id": venue.pk}
    )


def profiles_upsert(*, venue: Venue, rows: Sequence[ProfileRow]) -> None:
    """Insert or replace the profiles of these customers."""
    rows_upsert(
        CustomerProfile,
        fields=WRITE_FIELDS,
        rows=rows,
        fixed={"venue_id": venue.pk},
        unique=("venue_id", "customer"),
    )


def profiles_delete(*, venue: Venue, customers: Sequence[str]) -> None:
    """Delete these customers' profiles (customers with no event at or before a run's as-of)."""
    if customers:
        CustomerProfile.objects.filter(TextIn("customer", customers), venue=venue).delete()


def profile_upsert_one(*, profile: CustomerProfile) -> CustomerProfile:
    """Insert or replace one profile in a single statement; returns the stored instance."""
    stored = CustomerProfile.objects.bulk_create(
        [profile],
        update_conflicts=True,
        unique_fields=list(_UNIQUE_KEY),
        update_fields=_UPDATE_FIELDS,
    )
    return stored[0]
