"""The house's floors: who may import whom inside customer_intel, and no circle.

    api, admin, tasks, management   (the doors: requests, operators, the broker, commands)
    services, selectors, trends     (what the doors call)
    models, db, privacy             (the data and what the database offers beyond the ORM)
    analytics, demo, charts         (pure computation, no Django; the ground floor)

Every import counts, those inside functions too. Run as a script to print the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "customer_intel"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()


def _owner(name: str) -> str:
    """The innermost of our modules that `name` is, or is inside."""
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` imports the module; `from module import name` the
            # module itself.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        imported.update(_owner(name) for name in names if name.startswith("customer_intel."))
    return imported


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


def _floor(module: str) -> int:
    parts = module.split(".")
    area = parts[1] if len(parts) > 1 else ""
    if area in {"analytics", "demo", "charts"}:
        return 0
    if area in {
        "models",
        "prediction_models",
        "privacy_models",
        "validators",
        "db",
        "privacy",
        "logging",
        "task_names",
    }:
        return 1
    if module == "customer_intel.trends.models":
        return 1  # the trends' tables: data, beside the models
    if area in {"services", "selectors", "trends"}:
        return 2
    return 3


def _cycle() -> list[str] | None:
    """A circle of imports, if there is one."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(GRAPH):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_no_module_imports_itself_back_through_others():
    assert _cycle() is None


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_a_module_imports_only_from_its_floor_or_below(module):
    upward = sorted(target for target in GRAPH[module] if _floor(target) > _floor(module))
    assert upward == []


def test_the_ground_floor_imports_nothing_above_it():
    ground = [module for module in GRAPH if _floor(module) == 0]
    assert {"customer_intel.analytics.vocabulary", "customer_intel.demo"} <= set(ground)
    assert all(_floor(target) == 0 for module in ground for target in GRAPH[module])


# A room that outgrows this does several jobs: split it by responsibility.
MAX_MODULE_LINES = 400


def test_no_module_outgrows_its_room():
    sizes = {module: len(path.read_text().splitlines()) for module, path in MODULES.items()}
    assert {module: lines for module, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


if __name__ == "__main__":
    for module in sorted(GRAPH, key=lambda name: (_floor(name), name)):
        print(f"[{_floor(module)}] {module} -> {', '.join(sorted(GRAPH[module])) or '-'}")
