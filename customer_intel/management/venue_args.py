"""Arguments the personal-data commands share: a venue named by id, or every venue."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from customer_intel.models import Venue


def add_venue_choice(parser: CommandParser) -> None:
    """`--venue VENUE_ID` or `--all-venues`, exactly one."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--venue", metavar="VENUE_ID", help="The venue's id (UUID).")
    where.add_argument("--all-venues", action="store_true", help="Every venue.")


def venues_chosen(options: dict[str, Any]) -> list[Venue]:
    """The venues `--venue`/`--all-venues` name; CommandError for a bad or unknown id."""
    if options["all_venues"]:
        return list(Venue.objects.order_by("name", "pk"))
    return [venue_from_arg(options["venue"])]


def venue_from_arg(value: str) -> Venue:
    try:
        venue_uuid = uuid.UUID(value)
    except ValueError:
        raise CommandError(f"Venue id {value!r} is not a UUID.") from None
    venue = Venue.objects.filter(pk=venue_uuid).first()
    if venue is None:
        raise CommandError(f"Venue {venue_uuid} does not exist.")
    return venue
