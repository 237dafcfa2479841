"""manage.py grant_access USERNAME VENUE_ID [--write] — give a user access to a venue."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer_intel.management.commands._common import venue_from_argument
from customer_intel.models import VenueMembership


class Command(BaseCommand):
    help = (
        "Create or update a user's membership of a venue: read access, or read and write "
        "(ingestion, recompute) with --write. Running it again without --write makes the "
        "membership read-only. Users come from `manage.py create_user`, tokens from its --token or "
        "`manage.py drf_create_token USERNAME`."
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
            raise CommandError(
                f"User {username!r} does not exist; create it with `manage.py create_user`."
            )
        venue = venue_from_argument(options["venue_id"])
        membership, created = VenueMembership.objects.update_or_create(
            user=user, venue=venue, defaults={"can_write": options["write"]}
        )
        access = "read/write" if membership.can_write else "read"
        verb = "Granted" if created else "Updated"
        self.stdout.write(f"{verb} {access} access to {venue.name} ({venue.pk}) for {username}.")
