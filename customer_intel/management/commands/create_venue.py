"""manage.py create_venue --name N [--timezone TZ] [--currency C] [--allow-duplicate-name]
— prints the new venue's id."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer_intel.models import Venue
from customer_intel.services.venues import DuplicateVenueName, venue_create

_OPTIONS = {"name": "--name", "timezone": "--timezone", "currency": "--currency"}


class Command(BaseCommand):
    help = (
        "Create a venue and print only its id on stdout, so scripts can capture it: "
        'VENUE_ID=$(python manage.py create_venue --name "The Roundhouse"). A second venue '
        "with the name of an existing one is refused unless --allow-duplicate-name is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument(
            "--timezone", default="UTC", help="IANA time zone, e.g. Europe/London (default UTC)."
        )
        parser.add_argument(
            "--currency", default="USD", help="ISO 4217 code, three capital letters (default USD)."
        )
        parser.add_argument(
            "--allow-duplicate-name",
            action="store_true",
            help="Create the venue even if one of the same name exists.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        venue = Venue(
            name=options["name"], timezone=options["timezone"], currency=options["currency"]
        )
        try:
            venue = venue_create(venue=venue, allow_duplicate_name=options["allow_duplicate_name"])
        except ValidationError as problem:
            raise CommandError(
                " ".join(
                    f"{_OPTIONS.get(field, field)}: {' '.join(messages)}"
                    for field, messages in problem.message_dict.items()
                )
            ) from None
        except DuplicateVenueName as problem:
            raise CommandError(
                f"{problem} Pass --allow-duplicate-name to create another venue of that name."
            ) from None
        self.stdout.write(str(venue.pk))
