"""manage.py purge_expired_events (--venue VENUE_ID | --all-venues) [--batch-size N]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer_intel.management.commands._common import add_venue_choice, venues_chosen
from customer_intel.services import retention
from customer_intel.services.audit import Actor


class Command(BaseCommand):
    help = (
        "Delete the events older than each venue's event retention now (the nightly purge "
        "does the same), in batches of --batch-size events per transaction, and queue a "
        "recompute of the customers concerned. Venues without a retention are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_venue_choice(parser)
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.BATCH_SIZE,
            help=f"Events deleted per transaction (default {retention.BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        actor = Actor.command_user()
        for venue in venues_chosen(options):
            try:
                result = retention.events_purge_expired(
                    venue=venue, actor=actor, batch_size=batch_size
                )
            except retention.PurgeBusy:
                self.stderr.write(f"{venue.name} ({venue.pk}): another purge is running.")
                continue
            if result is None:
                self.stdout.write(f"{venue.name} ({venue.pk}): keeps every event; skipped.")
                continue
            run = f"; recompute run {result.run_id} queued" if result.run_id else ""
            self.stdout.write(
                f"{venue.name} ({venue.pk}): deleted {result.events} event(s) older than "
                f"{venue.event_retention_days} days in {result.batches} batch(es), longest "
                f"{result.longest_batch_seconds:.3f} s{run}."
            )
