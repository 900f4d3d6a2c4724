"""Containment: budgets that hold, signals that clean up, killed runs swept later, grader failures kept apart.

- A build that shows no progress is stopped by its own budget (build_stall_s), legacy and BuildKit, and its
  step is cancelled on the engine.
- `mastery check` stopped with SIGTERM (during a build, during a run) removes what it made and exits 2.
- A run killed with SIGKILL leaves a stale registration: the next run's start sweeps it, never a run in flight.
- A grader that fails in a step gives `error` verdicts, exit 2 and still a results.json.

Tiny specs with tight limits keep this fast; every registry of runs here is the test's own folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import recorded_runs

from graders import cli, engine, runs, watch
from graders.checks.build import image_builds
from graders.checks.endpoint import http_probe
from graders.checks.static import dockerfile_valid
from graders.checks.user import runs_as_non_root
from graders.errors import BuildStalled, BuildTimedOut
from graders.kinds import dockerfile as dockerfile_kind
from graders.labels import IMAGE_REPO, RUN_LABEL, new_run_id, owner, run_labels, run_of_tag
from graders.limits import Limits
from graders.results import Status
from graders.runner import grade
from graders.spec import LabSpec
from graders.watch import last_step, run_watched

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

PROBE = LabSpec(
    id="containment-probe", title="Containment", lesson="", kind="dockerfile", files=("Dockerfile",),
    base_images=("python:3.13-slim",), folder=TESTS, port=8080,
    limits=Limits(build_timeout_s=60, build_stall_s=5, health_budget_s=60, memory_bytes=64 * 2**20, pids=64),
    checks=(dockerfile_valid(1), image_builds(1), runs_as_non_root(1),
            http_probe("root_page", "GET / answers 200", 1, "GET", "/")),
)
# The specs a `mastery check` subprocess grades with (ENTRY picks one by name).
SPECS = {
    "probe": PROBE,
    # A build step the test interrupts itself: the stall budget must not fire first.
    "patient": replace(PROBE, limits=replace(PROBE.limits, build_stall_s=90, build_timeout_s=120)),
}
# `mastery check` with a test spec: the CLI's own code path, its signal handling and exit codes.
ENTRY = """
import sys
sys.path.insert(0, sys.argv[1])
import test_containment_budgets as t
import graders.cli as cli
spec = t.SPECS[sys.argv[2]]
cli.get_lab = lambda lab_id: spec
cli.main(["check", spec.id, *sys.argv[3:]], prog_name="mastery")
"""
# The notebook's check cell, as a kernel runs it (in its main thread).
NOTEBOOK_ENTRY = """
import sys
sys.path.insert(0, sys.argv[1])
import test_containment_budgets as t
import graders.notebook as nb
nb.get_lab = lambda lab_id: t.SPECS[lab_id]
nb._display = lambda markup, display_id=None, update=False: print(markup)
try:
    nb.grade_lab(sys.argv[2], sys.argv[3])
except KeyboardInterrupt as exc:
    print("cell interrupted:", type(exc).__name__, exc)
    sys.exit(2)
"""
# A server that is up, on another port than the lab's: the grader waits for 8080 for the whole budget.
SERVER_UP = 'FROM python:3.13-slim\nCMD ["python3", "-m", "http.server", "9000", "--bind", "0.0.0.0"]\n'


# ---------------------------------------------------------------- helpers

@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry of runs of this test's own: its sweeps see only its runs."""
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("MASTERY_RUNS_DIR", str(folder))
    return folder


@pytest.fixture
def run_ids(registry: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the runs this process registers, in order."""
    return recorded_runs(monkeypatch)


def wait_for(what: str, predicate: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout_s:.0f} s")
        time.sleep(0.2)


def registered(folder: Path) -> set[str]:
    return {p.name.removesuffix(".lock") for p in folder.glob("*.lock")}


def processes(marker: str) -> str:
    return subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout.strip()


def build_containers(marker: str) -> list[str]:
    """Containers (a legacy build's step containers included) whose command holds marker."""
    out = subprocess.run(["docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if marker in line]


def running_containers(run_id: str) -> list[str]:
    return [c.id for c in engine.client().containers.list(filters={"label": f"{RUN_LABEL}={run_id}"})]


def run_images(run_id: str) -> list[str]:
    return [t for i in engine.client().images.list(filters={"reference": f"{IMAGE_REPO}/*:{run_id}"}) for t in i.tags]


def assert_nothing_left(run_id: str, marker: str | None = None) -> None:
    assert engine.labelled(run_id).total == 0, f"run {run_id} left {engine.labelled(run_id)}"
    assert run_images(run_id) == []
    if marker:
        wait_for(f"the step `{marker}` to be cancelled",
                 lambda: not processes(marker) and not build_containers(marker), timeout_s=30)


def mastery_check(spec: str, folder: Path, registry: Path, *extra: str, entry: str = ENTRY) -> subprocess.Popen[str]:
    env = {**os.environ, "MASTERY_RUNS_DIR": str(registry), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", entry, str(TESTS), spec, str(folder), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout_s: float = 60) -> tuple[int, str]:
    _, stderr = proc.communicate(timeout=timeout_s)
    return proc.returncode, stderr


@pytest.fixture
def reap() -> Iterator[list[subprocess.Popen[str]]]:
    """Subprocesses a test started: killed if the test ends early, so none outlives it."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


# ---------------------------------------------------------------- no engine needed

def test_watch_tells_a_stall_from_a_slow_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # Run from a background job, sh inherits SIGINT ignored and only the kill after the grace ends it (seen: 11 s).
    # The docker CLI re-enables SIGINT itself; the grace is shortened so the test does not depend on how it was run.
    monkeypatch.setattr(watch, "STOP_GRACE_S", 1.0)
    started = time.monotonic()
    with pytest.raises(BuildStalled) as stalled:
        run_watched(["sh", "-c", "echo 'Step 2/3 : RUN sleep 100000'; sleep 100000"], env=os.environ, cwd=None,
                    timeout_s=30, stall_s=1)
    assert time.monotonic() - started < 10
    assert stalled.value.message == ("The build showed no progress for 1 s (no output, no step finished) and was "
                                      "stopped; its last step was: RUN sleep 100000.")
    assert stalled.value.step == "RUN sleep 100000" and "Step 2/3" in stalled.value.log_tail
    # Talking all the time, it is slow, not stuck: only the overall limit stops it.
    with pytest.raises(BuildTimedOut) as timed_out:
        run_watched(["sh", "-c", "while true; do echo working; sleep 0.2; done"], env=os.environ, cwd=None,
                    timeout_s=2, stall_s=1)
    assert "still running after 2 s" in timed_out.value.message and "working" in timed_out.value.log_tail
    done = run_watched(["sh", "-c", "echo noise; echo one; pwd; exit 3"], env=os.environ, cwd="/", timeout_s=10,
                       stall_s=5, ignore=lambda line: line == "noise")
    assert (done.returncode, done.lines) == (3, ["one", "/"])


def test_watch_kills_what_ignores_the_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "STOP_GRACE_S", 1.0)
    marker = f"sleep {100000 + os.getpid() % 1000}"
    with pytest.raises(BuildStalled):
        run_watched(["sh", "-c", f"trap '' INT; echo start; {marker}"], env=os.environ, cwd=None, timeout_s=60,
                    stall_s=1)
    assert not processes(marker)


def test_last_step_of_either_builder() -> None:
    assert last_step(["Step 1/2 : FROM x", " ---> abc", "Step 2/2 : RUN pip install -r r.txt", "Collecting a"]) \
        == "RUN pip install -r r.txt"
    assert last_step(["#4 [stage-0 1/2] FROM docker.io/library/python", "#5 [stage-0 2/2] RUN --mount=type=cache,"
                      "target=/root/.cache sleep 600", "#5 sha256:41c9"]) == "RUN --mount=type=cache,target=/root/.cache sleep 600"
    assert last_step(["#7 [web 3/4] COPY . .", "#7 DONE 0.1s"]) == "COPY . ."
    assert last_step(["no steps here"]) == ""


def test_only_grading_tags_belong_to_a_run() -> None:
    run_id = new_run_id()
    assert run_of_tag(f"{IMAGE_REPO}/ml-api:{run_id}") == run_id
    for tag in (f"myapp:{run_id}", f"{IMAGE_REPO}/ml-api:latest", f"registry:5000/{IMAGE_REPO}/x:{run_id}",
                f"{IMAGE_REPO}:{run_id}", "python:3.13-slim"):
        assert run_of_tag(tag) is None, tag
    with pytest.raises(ValueError):
        engine.sweep("")  # "" would mean every run


def test_registry_tells_live_runs_from_dead_ones(registry: Path) -> None:
    with runs.registered(new_run_id()) as mine:
        assert runs.in_flight() == {mine.run_id}
        # Another process registers a run and is killed with SIGKILL: its lock file stays, unlocked.
        code = ("import os, signal, sys; from graders import runs; r = runs.register(sys.argv[1]); "
                "assert r.fd is not None; os.kill(os.getpid(), signal.SIGKILL)")
        dead = new_run_id()
        proc = subprocess.run([sys.executable, "-c", code, dead], env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == -signal.SIGKILL
        assert registered(registry) == {mine.run_id, dead}
        assert runs.in_flight() == {mine.run_id}
        mine.done()
    assert registered(registry) == {dead}  # a run that cleaned up leaves no file; the dead one's stays


def test_clean_spares_runs_in_flight_and_runs_of_other_owners(registry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spared: list[set[str]] = []
    live, gone, foreign, old = (new_run_id() for _ in range(4))
    monkeypatch.setattr(engine, "run_owners", lambda: {live: {owner()}, gone: {owner()}, foreign: {"0@elsewhere"},
                                                       old: set()})

    def sweep(run_id: str | None = None, spare: Collection[str] = ()) -> engine.SweepCount:
        spared.append(set(spare))
        return engine.SweepCount(0, 0, 0, 0)

    monkeypatch.setattr(engine, "sweep", sweep)
    with runs.registered(live):
        result = runs.clean()
        assert spared == [{live, foreign}] and (result.in_flight, result.others) == (1, 1)
        runs.clean(all_owners=True)
        assert spared[-1] == {live}


def test_a_grader_failure_is_an_error_not_a_fail(tmp_path: Path, run_ids: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """No engine work: the build step raises before it builds anything."""
    def broken_build(ctx: object, say: object) -> None:
        raise RuntimeError("the grader's own bug")

    monkeypatch.setattr(engine, "client", lambda: None)
    monkeypatch.setattr(runs, "sweep_stale_quietly", lambda: None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # whatever the grader stages lands in the test's folder
    monkeypatch.setattr(dockerfile_kind.KIND, "build", broken_build)
    monkeypatch.setattr(dockerfile_kind.KIND, "teardown", lambda ctx: None)
    monkeypatch.setattr(cli, "get_lab", lambda lab_id: PROBE)
    (tmp_path / "Dockerfile").write_text(SERVER_UP)
    results = tmp_path / "results.json"
    outcome = CliRunner().invoke(cli.main, ["check", PROBE.id, str(tmp_path), "--json", str(results)])
    assert outcome.exit_code == 2, outcome.output
    assert "The grader itself failed on 3 check(s)" in outcome.output and "Traceback" not in outcome.output
    data = json.loads(results.read_text())
    tests = {t["extra_data"]["check_id"]: t for t in data["tests"]}
    assert tests["dockerfile_valid"]["status"] == "passed" and tests["dockerfile_valid"]["score"] == 1
    for name in ("image_builds", "runs_as_non_root", "root_page"):
        assert tests[name]["status"] == "failed" and tests[name]["output"].startswith("Grader error: Not checked: "
                                                                                      "The grader hit an internal problem")
        assert "RuntimeError: the grader's own bug" in tests[name]["output"]
    assert "the grader itself failed on 3 checks" in data["output"]
    report = grade(PROBE, tmp_path)
    assert [r.status for r in report.results] == [Status.PASSED, Status.ERROR, Status.ERROR, Status.ERROR]
    assert report.grader_failed and not report.all_passed
    assert len(run_ids) == 2 and not registered(Path(os.environ["MASTERY_RUNS_DIR"]))


# ---------------------------------------------------------------- engine

@pytest.mark.engine
def test_hanging_build_is_stopped_for_want_of_progress(tmp_path: Path, run_ids: list[str], no_leftovers: None) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.13-slim\nRUN sleep 100001\n{SERVER_UP.splitlines()[1]}\n")
    report = grade(PROBE, tmp_path)
    build = report.result("image_builds")
    assert build.status is Status.FAILED
    assert build.message.startswith("The build showed no progress for 5 s (no output, no step finished) and was "
                                    "stopped; its last step was: RUN sleep 100001."), build.message
    assert "waits forever" in build.hint
    assert report.seconds < 30  # 5 s of stall, not the 60 s build limit
    assert_nothing_left(run_ids[-1], "sleep 100001")


@pytest.mark.engine
def test_hanging_buildkit_build_is_stopped_for_want_of_progress(tmp_path: Path, run_ids: list[str],
                                                                no_leftovers: None) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.13-slim\nRUN --mount=type=cache,target=/root/.cache sleep 613\n")
    report = grade(PROBE, tmp_path)
    build = report.result("image_builds")
    assert build.status is Status.FAILED
    assert "showed no progress for 5 s" in build.message, build.message
    assert "its last step was: RUN --mount=type=cache,target=/root/.cache sleep 613." in build.message
    assert report.seconds < 30
    assert_nothing_left(run_ids[-1], "sleep 613")


@pytest.mark.engine
def test_sigterm_during_a_build_cleans_up_and_exits_2(tmp_path: Path, registry: Path, no_leftovers: None,
                                                      reap: list[subprocess.Popen[str]]) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.13-slim\nRUN sleep 100002\n{SERVER_UP.splitlines()[1]}\n")
    proc = mastery_check("patient", tmp_path, registry)
    reap.append(proc)
    wait_for("the build step to run", lambda: bool(processes("sleep 100002")))
    (run_id,) = registered(registry)
    proc.send_signal(signal.SIGTERM)
    code, stderr = finish(proc, timeout_s=40)
    assert code == 2, stderr
    assert "Stopped by SIGTERM; whatever the grader had started was removed." in stderr
    assert "Traceback" not in stderr
    assert registered(registry) == set()
    assert_nothing_left(run_id, "sleep 100002")


@pytest.mark.engine
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_while_a_server_is_up_cleans_up_and_exits_2(tmp_path: Path, registry: Path, no_leftovers: None,
                                                           reap: list[subprocess.Popen[str]], sig: signal.Signals) -> None:
    (tmp_path / "Dockerfile").write_text(SERVER_UP)
    proc = mastery_check("probe", tmp_path, registry, "--json", str(tmp_path / "results.json"))
    reap.append(proc)
    wait_for("the run to register", lambda: bool(registered(registry)))
    (run_id,) = registered(registry)
    wait_for("its container to run", lambda: bool(running_containers(run_id)))
    proc.send_signal(sig)
    code, stderr = finish(proc, timeout_s=40)
    assert code == 2, stderr
    assert f"Stopped by {sig.name}" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "results.json").exists()  # no verdict from a run that was stopped
    assert registered(registry) == set()
    assert_nothing_left(run_id)


@pytest.mark.engine
def test_sigterm_to_a_kernel_grading_in_a_cell_cleans_up(tmp_path: Path, registry: Path, no_leftovers: None,
                                                         reap: list[subprocess.Popen[str]]) -> None:
    (tmp_path / "Dockerfile").write_text(SERVER_UP)
    proc = mastery_check("probe", tmp_path, registry, entry=NOTEBOOK_ENTRY)
    reap.append(proc)
    wait_for("the run to register", lambda: bool(registered(registry)))
    (run_id,) = registered(registry)
    wait_for("its container to run", lambda: bool(running_containers(run_id)))
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=40)
    assert proc.returncode == 2, stderr
    assert "cell interrupted: Interrupted SIGTERM" in stdout
    assert "stopped by SIGTERM; whatever the grader had started was removed" in stdout
    assert registered(registry) == set()
    assert_nothing_left(run_id)


def scratch(run_id: str) -> list[Path]:
    """The folders a run made where its scratch goes (its staged copy, a volume folder): the folder the engine
    shares with this machine, else the temporary folder."""
    return sorted(Path(engine.scratch_dir() or tempfile.gettempdir()).glob(f"mastery-*-{run_id}-*"))


@pytest.mark.engine
def test_a_killed_run_is_swept_at_the_next_start_and_a_run_in_flight_is_not(
        tmp_path: Path, registry: Path, no_leftovers: None, reap: list[subprocess.Popen[str]]) -> None:
    (tmp_path / "Dockerfile").write_text(SERVER_UP)
    killed = mastery_check("probe", tmp_path, registry)
    reap.append(killed)
    wait_for("the first run to register", lambda: len(registered(registry)) == 1)
    (killed_run,) = registered(registry)
    wait_for("its container to run", lambda: bool(running_containers(killed_run)))
    live = mastery_check("probe", tmp_path, registry)
    reap.append(live)
    wait_for("the second run to register", lambda: len(registered(registry)) == 2)
    (live_run,) = registered(registry) - {killed_run}
    wait_for("its container to run", lambda: bool(running_containers(live_run)))

    killed.kill()
    killed.wait(timeout=10)
    assert running_containers(killed_run) and run_images(killed_run), "SIGKILL gave the run no chance to clean up"
    assert registered(registry) == {killed_run, live_run}
    assert scratch(killed_run) and scratch(live_run), "each run stages a copy of the submission"

    empty = tmp_path / "next"
    empty.mkdir()
    grade(PROBE, empty)  # a run of its own (nothing to build): its start sweeps the stale run
    assert engine.labelled(killed_run).total == 0 and run_images(killed_run) == []
    assert registered(registry) == {live_run}
    assert scratch(killed_run) == [], "the killed run's staged copy goes with its objects"
    # The run in flight kept everything: its container still runs, its image and staged copy are still there.
    assert running_containers(live_run) and run_images(live_run) and scratch(live_run)

    live.send_signal(signal.SIGTERM)
    code, stderr = finish(live)
    assert code == 2, stderr
    assert_nothing_left(live_run)


@pytest.mark.engine
def test_a_stale_sweep_removes_only_the_grading_tag(registry: Path, tmp_path: Path, no_leftovers: None) -> None:
    """An image a grading run tagged that also carries another name keeps that name."""
    run_id = new_run_id()
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.13-slim\nLABEL probe={run_id}\n")
    keep = f"mastery-test-keep/containment:{run_id}"
    subprocess.run(["docker", "build", "-q", "-t", keep, "-t", f"{IMAGE_REPO}/containment-probe:{run_id}",
                    str(tmp_path)], env={**os.environ, "DOCKER_BUILDKIT": "0"}, capture_output=True, check=True)
    container = engine.client().containers.create(keep, ["true"], labels=run_labels(run_id, "containment-probe"))
    try:
        (registry / f"{run_id}.lock").write_text("an owner that is gone\n")  # what a killed run leaves
        removed = runs.sweep_stale()
        assert (removed.containers, removed.images) == (1, 1)
        assert engine.client().images.get(keep).tags == [keep]
        assert registered(registry) == set()
        assert engine.labelled(run_id).total == 0
    finally:
        engine.client().images.remove(keep, force=True)
        subprocess.run(["docker", "rm", "-f", container.id], capture_output=True)
