"""The one place venue access is decided: the base of every venue endpoint.

As PostHog scopes every viewset to the caller's team, every view under `venue/<venue_id>`
derives from `VenueScopedAPIView`: before any handler runs, the base resolves the URL's venue
through `selectors.readable_venues` (the one rule of access), and views read the venue's rows
only through `scoped(Model)`. A venue that does not exist, a malformed id and a venue the caller
may not use give the same 404, before any other error (a bad parameter at a foreign venue is a
404, not a 400), so existence never leaks. `tests/api/test_scoping.py` walks every URL pattern
of the API and proves each one goes through this base.
"""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.views import APIView

from customer_intel.models import Venue
from customer_intel.selectors import readable_venues

VENUE_NOT_FOUND = "Venue not found."
WRITE_ACCESS_REQUIRED = "Write access to this venue is required."

M = TypeVar("M", bound=Model)


class VenueScopedAPIView(APIView):
    """A view of one venue, named by the URL's `venue_id`.

    `venue_write_access = True` on views that change a venue's data: a member who may only
    read it gets 403 (they know it exists, so nothing leaks); anyone else the 404.
    `venue_related` names relations of the venue to read in the same query (`select_related`).
    """

    venue_write_access = False
    venue_related: tuple[str, ...] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Decided before the handler, so no handler can forget to ask.
        _ = self.venue

    @cached_property
    def venue(self) -> Venue:
        """The URL's venue if the caller may use it; NotFound (or PermissionDenied) if not."""
        venue_id = self._venue_id()
        user = self.request.user
        if venue_id is not None:
            venues = readable_venues(user=user, write=self.venue_write_access)
            venue = venues.select_related(*self.venue_related).filter(pk=venue_id).first()
            if venue is not None:
                return venue
            if self.venue_write_access and readable_venues(user=user).filter(pk=venue_id).exists():
                raise PermissionDenied(WRITE_ACCESS_REQUIRED)
        raise NotFound(VENUE_NOT_FOUND)

    def scoped(self, model: type[M]) -> QuerySet[M]:
        """`model`'s rows at the caller's venue: the only way views read a venue's data."""
        return model._default_manager.filter(venue=self.venue)

    def _venue_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.kwargs["venue_id"])
        except ValueError:
            return None
