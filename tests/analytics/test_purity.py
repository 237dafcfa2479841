"""The analytics package is pure: importing it never loads Django."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import customer_intel.analytics

PACKAGE_DIR = Path(customer_intel.analytics.__file__).parent
MODULES = sorted(path.stem for path in PACKAGE_DIR.glob("*.py") if path.stem != "__init__")


def test_the_package_has_the_expected_modules():
    expected = {"events", "facts", "insights", "journey", "profile", "rfm", "rules", "thresholds"}
    assert expected <= set(MODULES)


def test_no_module_imports_django():
    pattern = re.compile(r"^\s*(from|import)\s+django\b", re.MULTILINE)
    sources = {name: (PACKAGE_DIR / f"{name}.py").read_text() for name in MODULES}
    offenders = [name for name, source in sources.items() if pattern.search(source)]
    assert offenders == []


def test_importing_every_module_leaves_django_unloaded():
    imports = "; ".join(f"import customer_intel.analytics.{name}" for name in MODULES)
    code = (
        f"import sys; {imports}; "
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PACKAGE_DIR.parent.parent,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
