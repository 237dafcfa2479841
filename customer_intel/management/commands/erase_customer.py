"""manage.py erase_customer CUSTOMER_ID (--venue VENUE_ID | --all-venues) [--suppress]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer_intel.management.commands._common import add_venue_choice, venues_chosen
from customer_intel.privacy import resolve_customer_id
from customer_intel.services.audit import Actor
from customer_intel.services.erasure import CustomerNotFound, customer_erase


class Command(BaseCommand):
    help = (
        "Erase a customer (raw id or pseudonym) at a venue, or at every venue that holds "
        "something about them: their events, facts, profile and pending mark, one transaction "
        "per venue, waiting for a recompute of the venue that is writing. With --suppress, "
        "their later events are dropped at ingestion. Each erasure is recorded in the audit "
        "trail without the id; nothing here prints the id. Exits 1 when the customer is "
        "found nowhere."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", help="Raw customer id or 64-hex pseudonym.")
        add_venue_choice(parser)
        parser.add_argument(
            "--suppress", action="store_true", help="Also drop the customer's later events."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer = resolve_customer_id(options["customer_id"])
        actor = Actor.command_user()
        erased = 0
        for venue in venues_chosen(options):
            try:
                result = customer_erase(
                    venue=venue, customer=customer, actor=actor, suppress=options["suppress"]
                )
            except CustomerNotFound:
                continue
            erased += 1
            suppressed = "; later events suppressed" if result.suppressed else ""
            self.stdout.write(
                f"{venue.name} ({venue.pk}): erased {result.events} event(s) and "
                f"{result.profiles} profile(s){suppressed}."
            )
        if not erased:
            where = "any venue" if options["all_venues"] else "this venue"
            raise CommandError(f"The customer is not known at {where}; nothing was changed.")
