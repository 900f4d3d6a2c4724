"""The grader's layers, read from its imports: no cycles; the engine layer knows nothing of checks, kinds or
labs; no check family imports another (what they share lives in graders/probes.py and the modules below)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import graders

PACKAGE = Path(graders.__file__).parent

# What sits above the engine layer: the checks, the lab kinds and the labs, and what drives a run or a person.
UPPER = ("graders.checks", "graders.kinds", "graders.labs", "graders.runner", "graders.validation", "graders.cli",
         "graders.notebook", "graders.doctor", "graders.reporters", "graders.submission", "graders.cohort",
         "graders.__main__", "graders.progress_table")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The graders modules path imports: all of them, or only those imported when it loads (not inside a
    function, not under `if TYPE_CHECKING`)."""
    tree = ast.parse(path.read_text())
    nodes = []
    if top_level_only:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.extend(ast.walk(node) if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                         else [n for n in ast.walk(node) if n is node])
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("graders"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).with_suffix(".py").exists()
                         or (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).is_dir())
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("graders"))
    return found


MODULES = {_module(path): path for path in PACKAGE.rglob("*.py") if "labs" not in path.relative_to(PACKAGE).parts[:1]}


def test_no_module_imports_itself_back_when_it_loads() -> None:
    graph = {name: {dep for dep in _imports(path, top_level_only=True) if dep in MODULES and dep != name}
             for name, path in MODULES.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep):], dep] if dep in trail else [*trail, dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


def test_the_engine_layer_knows_nothing_of_checks_kinds_or_labs() -> None:
    lower = {name: path for name, path in MODULES.items() if not name.startswith(UPPER) and name != "graders"}
    assert "graders.engine" in lower and "graders.build" in lower and "graders.stack" in lower
    leaks = {name: sorted(dep for dep in _imports(path, top_level_only=False) if dep.startswith(UPPER))
             for name, path in lower.items()}
    assert not {name: deps for name, deps in leaks.items() if deps}


def test_no_check_family_imports_another() -> None:
    families = {name: path for name, path in MODULES.items() if name.startswith("graders.checks.")}
    assert len(families) > 10
    crossing = {name: sorted(dep for dep in _imports(path, top_level_only=False)
                             if dep.startswith("graders.checks") or dep.startswith(("graders.kinds", "graders.runner")))
                for name, path in families.items()}
    assert not {name: deps for name, deps in crossing.items() if deps}


# Libraries that take seconds to import (jsonschema's format checkers compile dozens of grammars; matplotlib) or
# belong to one lab kind or one output: every `mastery` command loads the CLI and the labs, and a learner waits.
SLOW_TO_IMPORT = ("jsonschema", "kubernetes_validate", "matplotlib", "playwright")


def test_the_command_and_the_labs_load_no_slow_library() -> None:
    code = ("import sys, graders.cli, graders.labs; graders.labs.all_labs(); "
            f"print(' '.join(m for m in {SLOW_TO_IMPORT!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert loaded.stdout.split() == [], f"imported when the CLI and the labs load: {loaded.stdout.strip()}"
