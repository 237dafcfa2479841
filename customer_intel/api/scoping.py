"""The one place venue access is decided: the base of every venue endpoint.

As PostHog scopes every viewset to the caller's team, every view under `venue/<venue_id>`
derives from `VenueScopedAPIView` and reads the venue's rows only through `scoped(Model)`,
whose queryset carries the access rule (`selectors.venue_access`) as an ordinary filter: the
check rides in the read's own query. `venue` resolves the venue itself when a view needs it or
when a read found nothing (no such row, or no such venue for the caller?).

A venue that does not exist, a malformed id and a venue the caller may not use give the same
404, before any other answer (a bad parameter at a foreign venue is a 404, not a 400), so
existence never leaks. An answer that did not go through the scope is refused (a server error
in development, never data). `tests/api/test_scoping.py` walks every URL pattern of the API
and proves each goes through this base.
"""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customer_intel.models import Venue
from customer_intel.selectors import readable_venues, venue_access

VENUE_NOT_FOUND = "Venue not found."
WRITE_ACCESS_REQUIRED = "Write access to this venue is required."

M = TypeVar("M", bound=Model)

# Errors answered as they are, whatever the venue: the caller is not known (or is over their
# rate), so nothing about the venue is told.
_BEFORE_ACCESS = (
    exceptions.NotAuthenticated,
    exceptions.AuthenticationFailed,
    exceptions.Throttled,
)


class VenueScopedAPIView(APIView):
    """A view of one venue, named by the URL's `venue_id`.

    `venue_write_access = True` on views that change a venue's data: a member who may only
    read it gets 403 (they know it exists, so nothing leaks); anyone else the 404.
    """

    venue_write_access = False
    # Set once the view has read through `scoped` or asked for `venue`.
    _scoped = False
    _venue_asked = False

    @cached_property
    def venue_id(self) -> uuid.UUID:
        """The URL's venue id; the 404 when it is not a UUID."""
        try:
            return uuid.UUID(self.kwargs["venue_id"])
        except ValueError:
            raise exceptions.NotFound(VENUE_NOT_FOUND) from None

    @cached_property
    def venue(self) -> Venue:
        """The URL's venue if the caller may use it; the 404 (or the 403) if not."""
        self._scoped = self._venue_asked = True
        user = self.request.user
        venues = readable_venues(user=user, write=self.venue_write_access)
        venue = venues.filter(pk=self.venue_id).first()
        if venue is not None:
            return venue
        if self.venue_write_access and readable_venues(user=user).filter(pk=self.venue_id):
            raise exceptions.PermissionDenied(WRITE_ACCESS_REQUIRED)
        raise exceptions.NotFound(VENUE_NOT_FOUND)

    def scoped(self, model: type[M]) -> QuerySet[M]:
        """`model`'s rows at the URL's venue, none unless the caller may use the venue."""
        self._scoped = True
        access = venue_access(
            user=self.request.user, write=self.venue_write_access, through="venue"
        )
        return model._default_manager.filter(access, venue_id=self.venue_id)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _ = self.venue_id  # a malformed id is the 404 at once

    def handle_exception(self, exc: Exception) -> Response:
        # Any other error (a bad parameter, an unknown customer) is answered only to a caller
        # who may use the venue; anyone else gets the venue's 404 (or the 401) instead.
        if (
            isinstance(exc, exceptions.APIException)
            and not isinstance(exc, _BEFORE_ACCESS)
            and not self._venue_asked
        ):
            try:
                user = self.request.user
                if user is None or not user.is_authenticated:
                    raise exceptions.NotAuthenticated()
                _ = self.venue
            except exceptions.APIException as access_error:
                exc = access_error
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if response.status_code < 400 and not self._scoped:
            raise ImproperlyConfigured(
                f"{type(self).__name__} answered without reading through the venue scope"
            )
        return super().finalize_response(request, response, *args, **kwargs)
