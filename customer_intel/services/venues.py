"""Creating a venue: the one way the admin, `create_venue` and the demo data do it."""

from __future__ import annotations

from django.db import transaction

from customer_intel.models import Venue


class DuplicateVenueName(ValueError):
    """A venue of that name exists already (and duplicates were not allowed)."""

    def __init__(self, venue: Venue) -> None:
        super().__init__(f"A venue named {venue.name!r} exists already ({venue.pk}).")
        self.existing = venue


def venue_create(*, venue: Venue, allow_duplicate_name: bool = False) -> Venue:
    """Store a new venue after checking the venue rules (the model's validators).

    Raises django's ValidationError naming each bad field, or DuplicateVenueName when a venue
    of the same name exists and `allow_duplicate_name` is false: two venues that only their
    ids tell apart are a trap for whoever grants access or imports events next.
    """
    venue.name = venue.name.strip()
    venue.full_clean()
    with transaction.atomic():
        if not allow_duplicate_name:
            existing = Venue.objects.filter(name=venue.name).order_by("created_at").first()
            if existing is not None:
                raise DuplicateVenueName(existing)
        venue.save(force_insert=True)
    return venue
