"""The one venue-scoping base every venue endpoint goes through."""

from __future__ import annotations

from functools import cached_property

from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.views import APIView

from customer_intel.models import Venue
from customer_intel.selectors import venue_for_user

VENUE_NOT_FOUND = "Venue not found."
WRITE_ACCESS_REQUIRED = "Write access to this venue is required."


class VenueScopedAPIView(APIView):
    """Resolves `venue_id` from the URL against the caller's memberships.

    Set `venue_write_access = True` on views that change a venue's data. A missing venue and a
    venue the caller may not access give the same 404; a member who may only read the venue
    gets 403 on writes (they already know it exists, so nothing leaks).
    """

    venue_write_access = False

    @cached_property
    def venue(self) -> Venue:
        user, venue_id = self.request.user, self.kwargs["venue_id"]
        venue = venue_for_user(user=user, venue_id=venue_id, write=self.venue_write_access)
        if venue is not None:
            return venue
        if self.venue_write_access and venue_for_user(user=user, venue_id=venue_id) is not None:
            raise PermissionDenied(WRITE_ACCESS_REQUIRED)
        raise NotFound(VENUE_NOT_FOUND)

    def initial(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().initial(request, *args, **kwargs)
        # Resolve before the handler so every method is scoped, even one that forgets to ask.
        _ = self.venue
