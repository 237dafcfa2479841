"""Erasure, suppression and retention on the embedded SQLite default, in a process of its own."""

from __future__ import annotations

import json

from tests.embedded import run_python, sqlite_env


def test_the_personal_data_operations_work_on_the_embedded_default(tmp_path):
    env = sqlite_env(tmp_path / "privacy.sqlite3", LOG_LEVEL="WARNING")
    env.pop("CUSTOMER_ID_HMAC_KEY", None)
    run_python("manage.py", "migrate", "--noinput", "-v", "0", env=env)

    report = json.loads(run_python("-m", "tests.privacy.sqlite_scenario", env=env).stdout)

    assert report == {
        "erased": [2, 1],
        "replay": [0, 1],
        "alice_events": 0,
        # old@ (90, 45 days) one event per batch; recent@ keeps its event.
        "purged": [2, 2],
        "old_marked": True,
        "incremental": "succeeded",
        "profiles": 1,
        "old_profile": False,
        "total_customers": 1,
        "audit": ["erasure", "suppression", "retention_purge"],
    }
