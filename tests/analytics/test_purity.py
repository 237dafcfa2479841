"""The pure packages (analytics, demo): nothing in them imports Django."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import customer_intel.analytics
import customer_intel.demo

PACKAGE_DIRS = [
    Path(customer_intel.analytics.__file__).parent,
    Path(customer_intel.demo.__file__).parent,
]
PROJECT_DIR = PACKAGE_DIRS[0].parent.parent
SOURCES = sorted(path for directory in PACKAGE_DIRS for path in directory.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = [_module_name(path) for path in SOURCES]


def test_the_rules_modules_are_all_scanned():
    expected = {"events", "facts", "insights", "journey", "profile", "rfm", "rules", "thresholds"}
    assert {f"customer_intel.analytics.{name}" for name in expected} <= set(MODULES)


def test_no_source_file_imports_django():
    pattern = re.compile(r"^\s*(from|import)\s+django\b", re.MULTILINE)
    offenders = [str(path) for path in SOURCES if pattern.search(path.read_text())]
    assert offenders == []


def test_importing_every_module_leaves_django_unloaded():
    imports = "; ".join(f"import {name}" for name in MODULES)
    code = (
        f"import sys; {imports}; "
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
