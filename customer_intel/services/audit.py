"""The audit trail of personal-data operations: erasures, suppressions and retention purges.

Each entry says which venue, when, who, what and how many — never which customer, so the trail
itself can be kept and shown without becoming personal data.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from customer_intel.models import PrivacyAuditEntry, Venue

Status = PrivacyAuditEntry.Status


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for an operation, and through what."""

    name: str
    via: str

    @classmethod
    def api_user(cls, user: AbstractBaseUser | AnonymousUser) -> Actor:
        return cls(name=user.get_username(), via="api")

    @classmethod
    def command_user(cls) -> Actor:
        """The operating-system user running a management command."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            name = "unknown"
        return cls(name=name, via="command")

    @classmethod
    def schedule(cls) -> Actor:
        return cls(name="schedule", via="schedule")


def audit_record(
    *,
    venue: Venue,
    action: str,
    actor: Actor,
    events: int = 0,
    profiles: int = 0,
    customers: int = 0,
    detail: dict[str, Any] | None = None,
    status: str = Status.SUCCEEDED,
) -> PrivacyAuditEntry:
    """Record one operation; finished unless `status` is running. Never pass an identifier in
    `detail`: it holds aggregates only."""
    finished = None if status == Status.RUNNING else timezone.now()
    return PrivacyAuditEntry.objects.create(
        venue=venue,
        action=action,
        actor=actor.name[:150],
        via=actor.via,
        status=status,
        finished_at=finished,
        events=events,
        profiles=profiles,
        customers=customers,
        detail=detail or {},
    )
