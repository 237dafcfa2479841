"""manage.py grant_access USERNAME VENUE_ID [--write] — give a user access to a venue."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer_intel.models import Venue, VenueMembership


class Command(BaseCommand):
    help = (
        "Create or update a user's membership of a venue: read access, or read and write "
        "(ingestion, recompute) with --write. Running it again without --write makes the "
        "membership read-only. Tokens come from `manage.py drf_create_token USERNAME`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("venue_id", help="The venue's id (UUID).")
        parser.add_argument(
            "--write", action="store_true", help="Also allow ingesting events and recomputing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"]
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"User {username!r} does not exist.")
        try:
            venue_uuid = uuid.UUID(options["venue_id"])
        except ValueError:
            raise CommandError(f"Venue id {options['venue_id']!r} is not a UUID.") from None
        venue = Venue.objects.filter(pk=venue_uuid).first()
        if venue is None:
            raise CommandError(f"Venue {venue_uuid} does not exist.")
        membership, created = VenueMembership.objects.update_or_create(
            user=user, venue=venue, defaults={"can_write": options["write"]}
        )
        access = "read/write" if membership.can_write else "read"
        verb = "Granted" if created else "Updated"
        self.stdout.write(f"{verb} {access} access to {venue.name} ({venue.pk}) for {username}.")
