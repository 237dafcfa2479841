"""What the operator commands share: reading a venue id (or `--venue`/`--all-venues`), and
progress shown on a terminal.

A progress bar is drawn only when the command's error stream is a terminal, in the terminal's
own colours (Django styles everything written through `self.stderr` as an error, in red), and
while it is drawn every log line is printed above it rather than onto its line. Elsewhere (a
pipe, a file, a test) no bar is drawn: the command's summary line says what happened.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customer_intel.models import Venue


def venue_from_argument(value: str) -> Venue:
    """The venue a command's VENUE_ID argument names; a CommandError naming the problem."""
    try:
        venue_id = uuid.UUID(value)
    except ValueError:
        raise CommandError(f"Venue id {value!r} is not a UUID.") from None
    venue = Venue.objects.filter(pk=venue_id).first()
    if venue is None:
        raise CommandError(f"Venue {venue_id} does not exist.")
    return venue


def add_venue_choice(parser: CommandParser) -> None:
    """`--venue VENUE_ID` or `--all-venues`, exactly one."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--venue", metavar="VENUE_ID", help="The venue's id (UUID).")
    where.add_argument("--all-venues", action="store_true", help="Every venue.")


def venues_chosen(options: dict[str, Any]) -> list[Venue]:
    """The venues `--venue`/`--all-venues` name; CommandError for a bad or unknown id."""
    if options["all_venues"]:
        return list(Venue.objects.order_by("name", "pk"))
    return [venue_from_argument(options["venue"])]


@contextlib.contextmanager
def progress_bar(
    command: BaseCommand,
    *,
    total: float | None,
    desc: str,
    unit: str,
    unit_scale: bool = False,
    enabled: bool = True,
) -> Iterator[tqdm]:
    """A tqdm bar on the terminal, or a silent one (same methods) when there is none.

    The bar writes to the process's standard error itself: it is the terminal whenever the
    command's error stream is one, and a bar on it lets `tqdm.external_write_mode` clear the bar
    before each log line and redraw it after.
    """
    shown = enabled and command.stderr.isatty() and sys.stderr.isatty()
    bar = tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit_scale,
        file=sys.stderr,
        disable=not shown,
        dynamic_ncols=True,
    )
    with bar, _logs_above(bar) if shown else contextlib.nullcontext():
        yield bar


class _AboveBar(logging.Handler):
    """Hands each record to the handler it replaces, with the bar cleared meanwhile. The
    replaced handler keeps its filters (the redaction of customer ids) and its format."""

    def __init__(self, inner: logging.Handler) -> None:
        super().__init__(level=inner.level)
        self.inner = inner

    def emit(self, record: logging.LogRecord) -> None:
        with tqdm.external_write_mode(file=sys.stderr):
            self.inner.handle(record)


@contextlib.contextmanager
def _logs_above(_bar: tqdm) -> Iterator[None]:
    loggers = [logging.getLogger(), *_loggers_with_own_handlers()]
    swapped: list[tuple[logging.Logger, logging.Handler, logging.Handler]] = []
    for logger in loggers:
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (
                sys.stderr,
                sys.stdout,
            ):
                wrapper = _AboveBar(handler)
                logger.removeHandler(handler)
                logger.addHandler(wrapper)
                swapped.append((logger, handler, wrapper))
    try:
        yield
    finally:
        for logger, handler, wrapper in swapped:
            logger.removeHandler(wrapper)
            logger.addHandler(handler)


def _loggers_with_own_handlers() -> list[logging.Logger]:
    return [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and logger.handlers
    ]
