"""Processes of the project started by tests: the environment of one on its embedded default
(a SQLite file, tasks in-process), as a new user starts it, whatever the test run's own
settings; and running a snippet of Python in one."""

from __future__ import annotations

import os
import subprocess
import sys
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


def run_python(
    *args: str,
    env: dict[str, str],
    timeout: float = 300,
    check: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python *args` (`-c code`, `-m module`, `manage.py command`) in a new process in the
    project's directory, with `env`; its output captured as text; with `check`,
    CalledProcessError unless it exits with 0."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )
