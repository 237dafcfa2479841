"""Rules of a venue's settings, on the model so every way of creating or editing a venue (the
admin, `create_venue`, demo data) applies the same ones."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

validate_currency_code = RegexValidator(
    r"^[A-Z]{3}\Z", "Use an ISO 4217 code: three capital letters such as EUR."
)


def validate_time_zone(name: str) -> None:
    """An IANA time zone name such as Europe/London."""
    # ZoneInfo also accepts file paths relative to the tz database; keep to plain zone names.
    valid = bool(name) and not name.startswith(("/", ".")) and ".." not in name
    if valid:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            valid = False
    if not valid:
        raise ValidationError(
            "Unknown time zone: use an IANA name such as Europe/London.", code="invalid"
        )
