"""The environment of a process that runs the project on its embedded default (a SQLite file,
tasks in-process), as a new user starts it, whatever the test run's own settings."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sqlite_env(database: Path, **extra: str) -> dict[str, str]:
    """os.environ on the SQLite file `database` with no broker; `extra` adds or overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="config.settings.local",
        **extra,
    )
    return env
