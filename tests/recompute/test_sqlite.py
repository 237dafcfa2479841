"""The engine's portable path on the embedded SQLite default, in a process of its own."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

import pytest

from tests.embedded import run_python, sqlite_env
from tests.recompute import scenario


def _as_text(fields: dict) -> dict:  # type: ignore[type-arg]
    return {k: str(v) if v is not None else None for k, v in fields.items()}


@pytest.fixture(scope="module")
def sqlite_report(tmp_path_factory) -> dict:  # type: ignore[type-arg]
    database = tmp_path_factory.mktemp("sqlite") / "engine.sqlite3"
    env = sqlite_env(database, LOG_LEVEL="WARNING")
    run_python("manage.py", "migrate", "--noinput", "-v", "0", env=env)
    result = run_python("-m", "tests.recompute.sqlite_scenario", env=env)
    return json.loads(result.stdout)


def _expected_by_label() -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        label: _as_text(scenario.EXPECTED[pseudonym])
        for label, pseudonym in scenario.LABELS.items()
        if pseudonym in scenario.EXPECTED
    }


def _normalized(profiles: dict) -> dict:  # type: ignore[type-arg]
    # SQLite hands decimals back without trailing zeros ("1200" for 1200.00).
    def norm(value):  # type: ignore[no-untyped-def]
        try:
            return str(Decimal(value).normalize()) if value is not None else None
        except (InvalidOperation, TypeError):
            return value

    return {label: {k: norm(v) for k, v in fields.items()} for label, fields in profiles.items()}


@pytest.mark.parametrize("path", ["full", "incremental", "single"])
def test_every_path_computes_the_hand_computed_profiles_on_sqlite(sqlite_report, path):
    assert _normalized(sqlite_report[path]) == _normalized(_expected_by_label())


def test_sqlite_runs_succeed_and_store(sqlite_report):
    assert sqlite_report["full_status"] == "succeeded"
    assert sqlite_report["incremental_status"] == "succeeded"
    assert sqlite_report["snapshot"] == scenario.EXPECTED_SEGMENTS
    assert sqlite_report["single_stored"] == len(scenario.EXPECTED)
