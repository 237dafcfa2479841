"""The one venue-scoping base every venue endpoint goes through."""

from __future__ import annotations

from functools import cached_property

from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from customer_intel.models import Venue
from customer_intel.selectors import venue_for_user

VENUE_NOT_FOUND = "Venue not found."


class VenueScopedAPIView(APIView):
    """Resolves `venue_id` from the URL against the caller's memberships.

    Set `venue_write_access = True` on views that change a venue's data. A missing venue and a
    venue the caller may not access give the same 404.
    """

    venue_write_access = False

    @cached_property
    def venue(self) -> Venue:
        venue = venue_for_user(
            user=self.request.user,
            venue_id=self.kwargs["venue_id"],
            write=self.venue_write_access,
        )
        if venue is None:
            raise NotFound(VENUE_NOT_FOUND)
        return venue

    def initial(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().initial(request, *args, **kwargs)
        # Resolve before the handler so every method is scoped, even one that forgets to ask.
        _ = self.venue
