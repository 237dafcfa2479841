"""Read queries shared by the API and the admin."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from customer_intel.models import Venue, VenueMembership


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
