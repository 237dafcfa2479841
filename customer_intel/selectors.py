"""Read queries shared by the API and the admin."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Max, Q, QuerySet

from customer_intel.models import RecomputeRun, RunStatus, Venue


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


def venue_access(
    *, user: AbstractBaseUser | AnonymousUser | None, write: bool = False, through: str = ""
) -> Q:
    """The one rule of venue access, as a filter: on venues, or with `through` (a relation
    to the venue, "venue") on the rows of a venue, so the check rides in their read.

    Staff may use every venue; anyone else the venues they hold a membership of (one that
    allows writing, with `write`); an anonymous caller none.
    """
    prefix = f"{through}__" if through else ""
    if not user or not user.is_authenticated:
        return Q(**{f"{prefix}pk__in": []})
    if user.is_staff:
        return Q()
    membership = {f"{prefix}memberships__user": user}
    if write:
        membership[f"{prefix}memberships__can_write"] = True
    # One Q: both conditions hold for the same membership (at most one per user and venue).
    return Q(**membership)


def readable_venues(
    *, user: AbstractBaseUser | AnonymousUser | None, write: bool = False
) -> QuerySet[Venue]:
    """The venues `user` may read (with `write`, change)."""
    return Venue.objects.filter(venue_access(user=user, write=write))
