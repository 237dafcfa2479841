"""manage.py create_venue --name N [--timezone TZ] [--currency C] — prints the new venue's id."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer_intel.models import Venue

_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_NAME_LENGTH = Venue._meta.get_field("name").max_length


class Command(BaseCommand):
    help = (
        "Create a venue and print only its id on stdout, so scripts can capture it: "
        'VENUE_ID=$(python manage.py create_venue --name "The Roundhouse").'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument(
            "--timezone", default="UTC", help="IANA time zone, e.g. Europe/London (default UTC)."
        )
        parser.add_argument(
            "--currency", default="USD", help="ISO 4217 code, three capital letters (default USD)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be blank.")
        if len(name) > MAX_NAME_LENGTH:
            raise CommandError(f"--name must be at most {MAX_NAME_LENGTH} characters.")
        venue_timezone = options["timezone"]
        if not _is_time_zone(venue_timezone):
            raise CommandError(
                f"--timezone {venue_timezone!r} is not an IANA time zone (e.g. Europe/London)."
            )
        currency = options["currency"]
        if not _CURRENCY.fullmatch(currency):
            raise CommandError(
                f"--currency {currency!r} must be an ISO 4217 code: three capital letters."
            )
        venue = Venue.objects.create(name=name, timezone=venue_timezone, currency=currency)
        self.stdout.write(str(venue.pk))


def _is_time_zone(name: str) -> bool:
    # ZoneInfo also accepts file paths relative to the tz database; keep to plain zone names.
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
