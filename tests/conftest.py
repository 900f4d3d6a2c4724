"""Test set-up: engine tests are marked; a missing engine skips them locally and fails them in CI."""

from __future__ import annotations

import os
import shutil

import pytest

from graders import engine
from graders.errors import EngineUnavailable

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _engine_problem() -> str | None:
    try:
        engine.client()
    except EngineUnavailable as exc:
        return exc.message
    return None


def _browser_problem() -> str | None:
    if shutil.which("chromium") is None and not os.path.exists("/usr/bin/chromium"):
        return "Chromium is not installed (make setup installs it as root on Debian/Ubuntu)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is not None and (problem := _browser_problem()):
        if IN_CI:
            pytest.fail(f"CI needs a browser for this test: {problem}")
        pytest.skip(problem)
    if item.get_closest_marker("engine") is None:
        return
    problem = _engine_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI needs a Docker Engine and none answers: {problem} (run scripts/bootstrap-engine.sh)")
    pytest.skip(f"no Docker Engine here: {problem}")


def _everything() -> dict[str, set[str]]:
    c = engine.client()
    return {"containers": {x.id for x in c.containers.list(all=True)}, "volumes": {x.name for x in c.volumes.list()},
            "networks": {x.id for x in c.networks.list()}}


@pytest.fixture
def no_leftovers():
    """Asserts that the test left nothing behind: no object carrying the grading label, and no container,
    volume or network at all that was not there before (an image's VOLUME makes unlabelled ones)."""
    before = _everything()
    yield
    left = engine.labelled()
    assert left.total == 0, f"grading left labelled objects behind: {left}"
    new = {kind: names - before[kind] for kind, names in _everything().items()}
    assert not any(new.values()), f"grading left objects behind: {new}"


# Figures the suite measures (e.g. the site's build time), printed at the end of every run.
FIGURES: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("measured")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
