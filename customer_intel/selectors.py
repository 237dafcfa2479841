"""Read queries shared by the API and the admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Max, QuerySet

from customer_intel.models import (
    CustomerEvent,
    CustomerProfile,
    RecomputeRun,
    RunStatus,
    Venue,
    VenueMembership,
)


def venue_for_user(
    *, user: AbstractBaseUser | AnonymousUser, venue_id: str, write: bool = False
) -> Venue | None:
    """The venue if `user` may read it (or write to it when `write`), else None.

    A venue that does not exist and one the user may not access both give None, so callers
    answer the same 404 and existence does not leak.
    """
    try:
        venue_uuid = uuid.UUID(str(venue_id))
    except ValueError:
        return None
    if not user or not user.is_authenticated:
        return None
    if user.is_staff:
        return Venue.objects.filter(pk=venue_uuid).first()
    memberships = VenueMembership.objects.filter(user=user, venue_id=venue_uuid)
    if write:
        memberships = memberships.filter(can_write=True)
    membership = memberships.select_related("venue").first()
    return membership.venue if membership else None


def customer_profiles_for_venue(*, venue: Venue) -> QuerySet[CustomerProfile]:
    """A venue's profiles without the insights (lists never show them)."""
    return CustomerProfile.objects.filter(venue=venue).defer("insights")


def customer_events_for_venue(*, venue: Venue, customer: str) -> QuerySet[CustomerEvent]:
    """One customer's events, for walking in (occurred_at, id) order on the
    (venue, customer, occurred_at) index."""
    return CustomerEvent.objects.filter(venue=venue, customer=customer)


def customer_journey_rows(*, venue: Venue, customer: str) -> Iterator[dict[str, Any]]:
    """Every event of a customer in time order as plain dicts, streamed in chunks so a very
    long journey never sits in memory as model instances."""
    return (
        customer_events_for_venue(venue=venue, customer=customer)
        .order_by("occurred_at", "id")
        .values(*JOURNEY_FIELDS)
        .iterator(chunk_size=2000)
    )


JOURNEY_FIELDS = (
    "id",
    "type",
    "occurred_at",
    "amount",
    "quantity",
    "event_category",
    "channel",
    "campaign",
)


def last_successful_runs() -> dict[uuid.UUID, datetime | None]:
    """When each venue's last successful recompute finished (None: never)."""
    finished = dict(
        RecomputeRun.objects.filter(status=RunStatus.SUCCEEDED)
        .values("venue_id")
        .annotate(last=Max("finished_at"))
        .values_list("venue_id", "last")
    )
    return {
        venue_id: finished.get(venue_id) for venue_id in Venue.objects.values_list("pk", flat=True)
    }


def readable_venues(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Venue]:
    """The venues `user` may read: all of them for staff, else those with a membership.

    The same rule as `venue_for_user`, as a queryset, so a hot endpoint can fetch the venue
    and what it shows in one query.
    """
    if not user or not user.is_authenticated:
        return Venue.objects.none()
    if user.is_staff:
        return Venue.objects.all()
    return Venue.objects.filter(memberships__user=user)


def venue_with_snapshot_for_user(
    *, user: AbstractBaseUser | AnonymousUser, venue_id: str
) -> Venue | None:
    """The venue if `user` may read it, with its segment snapshot loaded (one query)."""
    try:
        venue_uuid = uuid.UUID(str(venue_id))
    except ValueError:
        return None
    venues = readable_venues(user=user).filter(pk=venue_uuid).select_related("segment_snapshot")
    return next(iter(venues[:1]), None)


def customer_profile_for_user(
    *, user: AbstractBaseUser | AnonymousUser, venue_id: str, customer: str
) -> CustomerProfile | None:
    """The stored profile, with its venue, if `user` may read the venue (one query).

    None when the venue is missing, not readable, or has no profile for `customer`; callers
    then ask `venue_for_user` to tell those apart.
    """
    try:
        venue_uuid = uuid.UUID(str(venue_id))
    except ValueError:
        return None
    venues = readable_venues(user=user).filter(pk=venue_uuid)
    profiles = CustomerProfile.objects.select_related("venue").filter(
        venue__in=venues, customer=customer
    )
    return next(iter(profiles[:1]), None)
