"""The read API on the embedded SQLite default after `demo_data`, as README command 1 serves
it: every endpoint the demo prints answers, in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.embedded import ROOT, sqlite_env


def test_every_read_endpoint_answers_on_the_sqlite_demo(tmp_path):
    env = sqlite_env(tmp_path / "demo.sqlite3", LOG_LEVEL="WARNING")
    for command in (["migrate", "--noinput", "-v", "0"], ["demo_data", "--reset"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=600,
            capture_output=True,
        )
    probe = subprocess.run(
        [sys.executable, "-m", "tests.demo.sqlite_api_probe"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )

    statuses = json.loads(probe.stdout)
    assert statuses.pop("unknown_customer") == 404
    assert statuses == dict.fromkeys(statuses, 200)
