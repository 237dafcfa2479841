"""The read API on the embedded SQLite default after `demo_data`, as README command 1 serves
it: every endpoint the demo prints answers, in a process of its own."""

from __future__ import annotations

import json

from tests.embedded import run_python, sqlite_env


def test_every_read_endpoint_answers_on_the_sqlite_demo(tmp_path):
    env = sqlite_env(tmp_path / "demo.sqlite3", LOG_LEVEL="WARNING")
    for command in (["migrate", "--noinput", "-v", "0"], ["demo_data", "--reset"]):
        run_python("manage.py", *command, env=env, timeout=600)
    probe = run_python("-m", "tests.demo.sqlite_api_probe", env=env)

    statuses = json.loads(probe.stdout)
    assert statuses.pop("unknown_customer") == 404
    assert statuses == dict.fromkeys(statuses, 200)
