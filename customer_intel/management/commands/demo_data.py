"""`manage.py demo_data [--seed N] [--customers N] [--events M] [--venues K] [--years Y]
[--end ISO-8601] [--reset] [--no-recompute | --recompute]`.

Without sizes: three realistic demo venues, recomputed, and a `demo` user whose token and a
ready-to-paste curl are printed. With `--customers`/`--events`: benchmark-sized data ("Bench
Arena" plus small venues), written with COPY on PostgreSQL, not recomputed unless asked.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from customer_intel.demo import PlanError, plan_dataset
from customer_intel.management.commands._common import progress_bar
from customer_intel.models import RunMode, RunStatus
from customer_intel.services.demo_data import (
    DemoDataConflict,
    DemoDataResult,
    demo_data_create,
    demo_user_provision,
)
from customer_intel.services.recompute import run_recompute

API_BASE = "http://127.0.0.1:8000"


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise CommandError(f"--{name} must be at least 1.")
    return value


def _end_instant(value: str | None) -> datetime:
    if value is None:
        # On the hour, so two runs in the same hour with one seed produce identical events.
        return timezone.now().replace(minute=0, second=0, microsecond=0)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--end {value!r} is not an ISO-8601 date-time.") from exc
    if parsed.tzinfo is None:
        raise CommandError(f"--end {value!r} has no time zone; add one (e.g. Z).")
    if parsed > timezone.now():
        raise CommandError("--end must not be in the future.")
    return parsed


class Command(BaseCommand):
    help = (
        "Create synthetic demo data: three venues with a few thousand customers and three years "
        "of events (default), or benchmark-sized data with --customers/--events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same events.")
        parser.add_argument(
            "--customers", type=int, help="Benchmark size: exactly this many customers."
        )
        parser.add_argument("--events", type=int, help="Benchmark size: exactly this many events.")
        parser.add_argument(
            "--venues",
            type=int,
            help="Number of venues (demo: 1-5, default 3; benchmark: default 1, the first "
            "holding nearly all customers).",
        )
        parser.add_argument("--years", type=int, default=3, help="Years of history (default 3).")
        parser.add_argument(
            "--end",
            help="Last instant of the history (ISO-8601 with a time zone). Default: this hour.",
        )
        parser.add_argument(
            "--reset", action="store_true", help="Delete the venues of the same names first."
        )
        recompute = parser.add_mutually_exclusive_group()
        recompute.add_argument(
            "--no-recompute",
            dest="recompute",
            action="store_false",
            default=None,
            help="Do not compute profiles (the demo default is to compute them).",
        )
        recompute.add_argument(
            "--recompute",
            dest="recompute",
            action="store_true",
            help="Compute profiles after a benchmark-sized load too.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            plan = plan_dataset(
                seed=options["seed"],
                end=_end_instant(options["end"]),
                years=options["years"],
                customers=_positive("customers", options["customers"]),
                events=_positive("events", options["events"]),
                venues=_positive("venues", options["venues"]),
            )
        except PlanError as exc:
            raise CommandError(f"--{exc}") from exc
        quiet = options["verbosity"] == 0
        recompute = options["recompute"]
        if recompute is None:
            recompute = plan.kind == "demo"

        total = sum(venue.events or 0 for venue in plan.venues) or None
        with progress_bar(
            self, total=total, desc="events", unit=" events", unit_scale=True, enabled=not quiet
        ) as bar:
            try:
                result = demo_data_create(
                    plan=plan,
                    reset=options["reset"],
                    progress=lambda _venue, written, _expected: bar.update(written),
                )
            except DemoDataConflict as exc:
                raise CommandError(str(exc)) from exc

        venues = [venue.venue for venue in result.venues]
        token = demo_user_provision(venues=venues)
        if recompute:
            self._recompute(result, quiet=quiet)
        self._summary(result, token=token, recomputed=recompute, seconds=time.monotonic() - started)

    def _recompute(self, result: DemoDataResult, *, quiet: bool) -> None:
        for venue_result in result.venues:
            venue = venue_result.venue
            with progress_bar(
                self,
                total=venue_result.customers,
                desc=f"recompute {venue.name}",
                unit=" customers",
                enabled=not quiet,
            ) as bar:
                run = run_recompute(
                    venue=venue, mode=RunMode.FULL, progress=lambda done: bar.update(done - bar.n)
                )
            if run.status != RunStatus.SUCCEEDED:
                raise CommandError(f"Recompute of {venue.name} ended {run.status}: {run.error}")
            venue_result.run = run

    def _summary(
        self, result: DemoDataResult, *, token: str, recomputed: bool, seconds: float
    ) -> None:
        out = self.stdout
        out.write("")
        out.write(f"{'venue id':<38}{'name':<24}{'tz':<20}{'customers':>10}{'events':>12}")
        for item in result.venues:
            venue = item.venue
            written = "present" if item.skipped else f"{item.events_written:,}"
            out.write(
                f"{venue.pk!s:<38}{venue.name:<24}{venue.timezone:<20}"
                f"{item.customers:>10,}{written:>12}"
            )
        out.write(
            f"\n{len(result.venues)} venue(s), "
            f"{sum(v.customers for v in result.venues):,} customers, "
            f"{result.events_written:,} events written in {result.seconds:.1f}s "
            f"(total {seconds:.1f}s, seed {result.plan.seed}, history to "
            f"{result.plan.end.isoformat()})."
        )
        if not recomputed:
            out.write("Profiles not computed yet; the customers are marked for the next run:")
            for item in result.venues:
                out.write(f"  python manage.py recompute {item.venue.pk} --full")
        first = result.venues[0]
        base = f"{API_BASE}/customers/venue/{first.venue.pk}"
        out.write(f"\nAPI token of user 'demo': {token}\n")
        out.write(f"Try, once the service answers on {API_BASE}:")
        out.write(f'  curl -H "Authorization: Token {token}" {base}/segments')
        out.write(f'  curl -H "Authorization: Token {token}" {base}/{first.sample_customer}')
        out.write(f'  curl -H "Authorization: Token {token}" "{base}/search?segment=vip"')
