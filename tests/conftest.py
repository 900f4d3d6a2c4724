"""Test set-up: engine tests are marked; a missing engine skips them locally and fails them in CI."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from graders import engine, runs
from graders.engine_address import HOST, resolve
from graders.errors import EngineUnavailable
from graders.labels import RUN_LABEL, TASK_LABEL
from graders.labs import all_labs

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The whole suite runs on one engine, the grader's and every docker command a test runs alike: MASTERY_ENGINE
# when set (`course`, `host`, a context or a URL; `make test` passes TEST_ENGINE), else the host's engine.
TEST_ENGINE = resolve(os.environ.get("MASTERY_ENGINE") or HOST)
os.environ.update(TEST_ENGINE.env())
os.environ["MASTERY_ENGINE"] = TEST_ENGINE.url
os.environ.pop("DOCKER_CONTEXT", None)
engine.use(TEST_ENGINE.url)
# No test's check lands in the learner's record (labs/.progress.json); tests/test_progress.py records under tmp_path.
os.environ["MASTERY_PROGRESS"] = "off"


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


# Modules whose tests need the engine to themselves, run after the rest by `make test` (`-m alone`):
# they time how fast a runaway submission is stopped, sweep every stale run, start a second engine, rebuild the
# stand-in images the other tests build on, or make a swarm (which cuts other containers' names when it is left).
# Everything else runs in parallel workers.
ALONE = {"test_containment", "test_containment_budgets", "test_containment_build", "test_containment_network",
         "test_hostile", "test_stack_hostile", "test_second_engine", "test_stand_ins", "test_course_engine",
         "test_swarm_kind"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__.rpartition(".")[2] in ALONE:
            item.add_marker(pytest.mark.alone)


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
    """Ids from the list calls alone: docker's high-level lists inspect each object, and one that another
    worker removes in between would raise."""
    api = engine.client().api
    return {"containers": {x["Id"] for x in api.containers(all=True)},
            "volumes": {x["Name"] for x in api.volumes().get("Volumes") or []},
            "networks": {x["Id"] for x in api.networks()}}


# Set by pytest-xdist in each worker: other workers grade on the same engine at the same time.
IN_PARALLEL = "PYTEST_XDIST_WORKER" in os.environ


# How long a new volume that nothing uses may take to go before it counts as left behind (parallel runs only):
# `compose down --volumes` removes a project's volumes after its containers and networks, and under CI's load
# another test's project volume was still there a second after its containers had gone (stop 29).
VOLUME_SETTLE_S = 30.0

TASK_NAMES = {name for spec in all_labs().values() for name in spec.task_objects}


def _dangling_volumes(ignore_other_runs: list[str] | None = None) -> set[str]:
    """Volumes nothing uses. With `ignore_other_runs` (the test's own run ids), a volume labelled as another
    run's is left out: that run's test checks it, and a compose project's named volume is dangling for a moment
    between `down` removing the containers and removing the volume (seen on a slow engine).
    With it too, a volume an engine-state lab's task makes (its label `course.lab`, or a name the task gives, which a
    broken variant may make unlabelled) is left out: another worker's proof of that lab made it, and that proof
    removes it itself (tests/engine_state_proofs.py)."""
    found = engine.client().api.volumes(filters={"dangling": True}).get("Volumes") or []
    return {x["Name"] for x in found
            if ignore_other_runs is None or ((x.get("Labels") or {}).get(RUN_LABEL) in (None, *ignore_other_runs)
                                             and TASK_LABEL not in (x.get("Labels") or {}) and x["Name"] not in TASK_NAMES)}


def recorded_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the grading runs this process registers from now on (for the test's duration), in order."""
    seen: list[str] = []
    register = runs.register

    def recording(run_id: str) -> runs.Registration:
        seen.append(run_id)
        return register(run_id)

    monkeypatch.setattr(runs, "register", recording)
    return seen


@pytest.fixture
def no_leftovers(monkeypatch: pytest.MonkeyPatch):
    """Asserts that the test left nothing behind: no object of the runs it started, and no container,
    volume or network at all that was not there before (an image's VOLUME makes unlabelled ones).

    With other workers grading on the same engine, their objects come and go during the test: then only
    the test's own runs are looked at, and new volumes that nothing uses (a VOLUME's anonymous volume left
    behind) that are still there after VOLUME_SETTLE_S, so that one being removed is not taken for one."""
    started = recorded_runs(monkeypatch)
    before = _everything()
    yield
    for run_id in started:
        left = engine.labelled(run_id)
        assert left.total == 0, f"grading run {run_id} left labelled objects behind: {left}"
    if IN_PARALLEL:
        dangling = _dangling_volumes(started) - before["volumes"]
        settle_by = time.monotonic() + VOLUME_SETTLE_S
        while dangling and time.monotonic() < settle_by:
            time.sleep(1)
            dangling &= _dangling_volumes(started)
        assert not dangling, f"grading left volumes behind: {dangling}"
        return
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
