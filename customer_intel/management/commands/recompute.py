"""`manage.py recompute VENUE_ID [--full|--incremental] [--as-of ISO-8601]`.

Runs the recompute engine in this process (not through the broker), with a progress bar and a
summary. Exits non-zero when the run failed, or was skipped because another run holds the venue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from customer_intel.management.commands._common import progress_bar, venue_from_argument
from customer_intel.models import (
    CustomerFacts,
    CustomerProfile,
    PendingCustomer,
    RecomputeRun,
    RunMode,
    RunStatus,
    Segment,
    Venue,
)
from customer_intel.services.recompute import as_of_refusal, run_recompute

# An --as-of further back than this is a back-dated run: the command says what it did.
BACK_DATED_AFTER = timedelta(minutes=1)


def parse_as_of(value: str) -> datetime:
    """An ISO-8601 instant with a time zone (a naive time is ambiguous across venues)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"--as-of {value!r} is not an ISO-8601 date-time "
            "(e.g. 2026-01-31T23:59:59Z or 2026-01-31T23:59:59+01:00)."
        ) from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise CommandError(
            f"--as-of {value!r} has no time zone; add one (e.g. Z or +01:00) so the instant "
            "is unambiguous."
        )
    return parsed


class Command(BaseCommand):
    help = (
        "Recompute a venue's customer profiles now, in this process, with a progress bar. "
        "Incremental (customers with new events) by default; --full recomputes everyone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("venue_id", help="The venue's id (UUID).")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--full",
            dest="mode",
            action="store_const",
            const=RunMode.FULL,
            help="Recompute every customer of the venue.",
        )
        mode.add_argument(
            "--incremental",
            dest="mode",
            action="store_const",
            const=RunMode.INCREMENTAL,
            help="Recompute customers with events since their last computation (default).",
        )
        parser.add_argument(
            "--as-of",
            dest="as_of",
            help="Compute as of this instant (ISO-8601 with a time zone); every 'days since' "
            "is measured to it, which makes a run reproducible. A past instant replaces the live "
            "profiles until the next scheduled tick; a future one is refused. Default: now.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        venue = venue_from_argument(options["venue_id"])
        mode = options["mode"] or RunMode.INCREMENTAL
        as_of = parse_as_of(options["as_of"]) if options["as_of"] else None
        refusal = as_of_refusal(as_of) if as_of is not None else None
        if refusal is not None:
            raise CommandError(f"Refused: {refusal}. Nothing was recomputed or stored.")

        # Recorded before the engine starts so that a failure can name its run.
        run = RecomputeRun.objects.create(venue=venue, mode=mode, as_of=as_of)
        with progress_bar(
            self,
            total=_expected_customers(venue=venue, mode=mode),
            desc=f"{mode} recompute of {venue.name}",
            unit=" customers",
            enabled=options["verbosity"] > 0,
        ) as bar:

            def progress(done: int) -> None:
                bar.update(done - bar.n)

            try:
                run = run_recompute(venue=venue, mode=mode, as_of=as_of, run=run, progress=progress)
            except Exception as exc:
                # The engine recorded the error text, with anything like a customer id redacted.
                run.refresh_from_db()
                raise CommandError(
                    f"Run {run.pk} failed: {run.error or type(exc).__name__}"
                ) from exc

        self._summary(run)
        if (
            run.status == RunStatus.SUCCEEDED
            and as_of is not None
            and as_of < (run.started_at or timezone.now()) - BACK_DATED_AFTER
        ):
            self.stdout.write(
                f"Note: the live profiles of {venue.name} now show their state as of "
                f"{as_of.isoformat()}, not now: the API serves these back-dated values. The next "
                "scheduled tick (every 5 minutes while beat runs) replaces them with a full "
                f"recompute as of now; `manage.py recompute {venue.pk} --full` does it at once."
            )
        if run.status == RunStatus.SKIPPED:
            raise CommandError(
                f"Run {run.pk} was skipped: another run holds venue {venue.pk}. "
                "Try again when it has finished."
            )
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run {run.pk} ended {run.status}: {run.error}")

    def _summary(self, run: RecomputeRun) -> None:
        duration = f"{run.duration_seconds:.2f}s" if run.duration_seconds is not None else "-"
        as_of = run.as_of.isoformat() if run.as_of else "-"
        lines = [
            f"run:        {run.pk} ({run.mode})",
            f"status:     {run.status}",
            f"as of:      {as_of}",
            f"customers:  {run.customers_processed}",
            f"events:     {run.events_processed}",
            f"duration:   {duration}",
        ]
        if run.status == RunStatus.SUCCEEDED:
            counts = {
                row["segment"]: row["n"]
                for row in CustomerProfile.objects.filter(venue_id=run.venue_id)
                .values("segment")
                .annotate(n=Count("id"))
            }
            lines.append("segments:")
            lines.extend(
                f"  {segment.value:<12}{counts.get(segment.value, 0)}" for segment in Segment
            )
        self.stdout.write("\n".join(lines))


def _expected_customers(*, venue: Venue, mode: str) -> int:
    """The progress bar's total: the customers the run is about to compute.

    An estimate for a run in the past: customers whose every event is after --as-of are counted
    but get no profile.
    """
    pending = PendingCustomer.objects.filter(venue=venue)
    if mode == RunMode.INCREMENTAL:
        return pending.count()
    known = CustomerFacts.objects.filter(venue=venue)
    new = pending.exclude(Exists(known.filter(customer=OuterRef("customer"))))
    return known.count() + new.count()
