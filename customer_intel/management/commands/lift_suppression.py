"""manage.py lift_suppression CUSTOMER_ID (--venue VENUE_ID | --all-venues)"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer_intel.management.commands._common import add_venue_choice, venues_chosen
from customer_intel.privacy import resolve_customer_id
from customer_intel.services.audit import Actor
from customer_intel.services.suppression import suppression_lift


class Command(BaseCommand):
    help = (
        "Collect a suppressed customer's events again (raw id or pseudonym) at a venue or at "
        "every venue. Events dropped while they were suppressed do not come back. Recorded in "
        "the audit trail without the id. Exits 1 when the customer was not suppressed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", help="Raw customer id or 64-hex pseudonym.")
        add_venue_choice(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        customer = resolve_customer_id(options["customer_id"])
        actor = Actor.command_user()
        lifted = 0
        for venue in venues_chosen(options):
            if suppression_lift(venue=venue, customer=customer, actor=actor):
                lifted += 1
                self.stdout.write(f"{venue.name} ({venue.pk}): suppression lifted.")
        if not lifted:
            raise CommandError("The customer was not suppressed; nothing was changed.")
