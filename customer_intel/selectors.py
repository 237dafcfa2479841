"""Read queries shared by the API and the admin."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Max, QuerySet

from customer_intel.models import (
    RecomputeRun,
    RunStatus,
    Venue,
    VenueMembership,
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


def readable_venues(
    *, user: AbstractBaseUser | AnonymousUser | None, write: bool = False
) -> QuerySet[Venue]:
    """The venues `user` may read (with `write`, change): the one rule of venue access.

    Staff may use every venue; anyone else the venues they hold a membership of (a membership
    that allows writing, with `write`); an anonymous caller none.
    """
    if not user or not user.is_authenticated:
        return Venue.objects.none()
    if user.is_staff:
        return Venue.objects.all()
    memberships = VenueMembership.objects.filter(user=user)
    if write:
        memberships = memberships.filter(can_write=True)
    return Venue.objects.filter(pk__in=memberships.values("venue_id"))
