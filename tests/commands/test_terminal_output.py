"""What an operator sees: on a terminal a progress bar in the terminal's own colours with log
lines above it, never on its line; elsewhere no bar at all."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from io import StringIO

from django.core.management import call_command
from django.db import connection

from tests.commands.conftest import csv_row, write_csv
from tests.embedded import ROOT

ANSI_COLOUR = "\x1b["


def _rendered_lines(output: str) -> list[str]:
    """The lines as a terminal shows them: a carriage return moves back to the line's start and
    later text overwrites earlier text."""
    lines = []
    for raw in output.split("\n"):
        cells: list[str] = []
        column = 0
        for char in raw:
            if char == "\r":
                column = 0
                continue
            if column < len(cells):
                cells[column] = char
            else:
                cells.append(char)
            column += 1
        lines.append("".join(cells).rstrip())
    return lines


def _run_on_a_terminal(args: list[str], env: dict[str, str], timeout: float = 180.0) -> str:
    controller, terminal = pty.openpty()
    # A terminal 120 columns wide (a new pseudo-terminal reports none).
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True
    )
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    data = os.read(controller, 65536)
                except OSError:  # the terminal closed: the process has exited
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_log_lines_never_share_a_line_with_the_bar(transactional_db, venue, tmp_path):
    path = write_csv(tmp_path / "events.csv", [csv_row(n) for n in range(400)])
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}",
        "LOG_LEVEL": "INFO",
        "TERM": "xterm",
    }

    output = _run_on_a_terminal(
        [sys.executable, "manage.py", "import_events", str(venue.pk), str(path),
         "--batch-size", "50"],
        env,
    )  # fmt: skip

    lines = _rendered_lines(output)
    bar_lines = [line for line in lines if "import:" in line and "%|" in line]
    log_lines = [line for line in lines if "level=INFO" in line]
    assert bar_lines, output
    assert len([line for line in log_lines if "events_import_chunk" in line]) == 8, output
    assert not [line for line in lines if "level=" in line and "%|" in line], output
    assert ANSI_COLOUR not in output  # the terminal's own colours: no red bar
    assert "rows=400 accepted=400" in output


def test_elsewhere_there_is_no_bar_only_the_summary(venue, tmp_path):
    path = write_csv(tmp_path / "events.csv", [csv_row(n) for n in range(30)])
    out, err = StringIO(), StringIO()

    call_command("import_events", str(venue.pk), str(path), stdout=out, stderr=err)

    assert err.getvalue() == ""
    assert out.getvalue().startswith(f"{path}: rows=30 accepted=30")
