"""Containment: a hostile submission, graded for real, cannot leave the grading run.

Each submission is written here, outside the project, inside a folder surrounded by canary files. Each is
either refused before anything starts (with the service, the key and why) or runs contained: the census
after every test (`no_leftovers`) finds no container, volume, network or image of it, the canary folder
around it is as it was, and no variable of the grader's is seen inside a container.
See also test_containment_budgets.py (hangs, signals, stale runs), test_containment_build.py (build limits,
disk budget) and test_containment_network.py (what a graded container can reach).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from graders import engine
from graders.check_model import Check, Need, Outcome
from graders.checks.compose import compose_valid, stack_builds, stack_healthy
from graders.context import GradingContext
from graders.limits import Limits
from graders.results import Category, GradeReport, Status
from graders.runner import grade
from graders.spec import LabSpec

pytestmark = pytest.mark.engine

CANARY_VALUE = "grader-secret-7f3a"
SEEN: dict[str, Any] = {}

SERVER = """services:
  app:
    build: ./app
    healthcheck:
      test: [CMD, python3, -c, "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080', timeout=2)"]
      interval: 1s
{extra}
"""
DOCKERFILE = 'FROM python:3.13-slim\nCMD ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"]\n'


def _look_inside(ctx: GradingContext) -> Outcome:
    """What the test wants to know about the running stack, kept for the test to assert on."""
    _, stack = ctx.require_stack()
    SEEN["env"] = stack.exec("app", ["env"])[1]
    SEEN["host_config"] = stack.container("app").get("HostConfig") or {}
    SEEN["image"] = stack.container("app").get("Config", {}).get("Image")
    SEEN["image_env"] = engine.config_env(engine.client().api.inspect_image(SEEN["image"]))
    return Outcome.passed("looked")


SPEC = LabSpec(
    id="containment-probe", title="Containment", lesson="", kind="compose", files=("compose.yaml",),
    base_images=("python:3.13-slim",), folder=Path(__file__).parent, port=None,
    limits=Limits(health_budget_s=30, run_timeout_s=60, build_timeout_s=120),
    checks=(compose_valid(1), stack_builds(1), stack_healthy(1),
            Check("look_inside", "Look inside", 1, Category.STATE, (Need.STACK,), _look_inside)),
)


@pytest.fixture
def canaries(tmp_path: Path) -> Any:
    """A submission folder (`tmp_path/outer/sub`) with canary files and folders around it; after the test,
    nothing around it has changed (no file added, none altered)."""
    outer = tmp_path / "outer"
    (outer / "other-project").mkdir(parents=True)
    (outer / "other-project" / "compose.yaml").write_text(f"# password: {CANARY_VALUE}\nservices: {{}}\n")
    (outer / "other-project" / ".env").write_text(f"POSTGRES_PASSWORD={CANARY_VALUE}\n")
    (outer / "Dockerfile").write_text(f"# {CANARY_VALUE}\nFROM scratch\n")
    sub = outer / "sub"
    (sub / "app").mkdir(parents=True)
    (sub / "app" / "Dockerfile").write_text(DOCKERFILE)
    before = _snapshot(outer, skip=sub)
    yield sub
    assert _snapshot(outer, skip=sub) == before, "the grading run changed files outside the submission"


def _snapshot(folder: Path, skip: Path) -> dict[str, str]:
    out = {}
    for root, dirs, files in os.walk(folder):
        if Path(root) == skip or skip in Path(root).parents:
            continue
        for name in dirs + files:
            path = Path(root) / name
            if path == skip:
                continue
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


def write(sub: Path, extra: str = "", top: str = "") -> None:
    (sub / "compose.yaml").write_text(SERVER.format(extra=extra) + top)


def refused(report: GradeReport) -> str:
    first = report.result("compose_valid")
    assert first.status is Status.FAILED, first.message
    assert first.message.startswith("Refused before anything started") or "does not follow links" in first.message, \
        first.message
    assert report.result("stack_healthy").message.startswith("Not checked")
    assert CANARY_VALUE not in str(report.results)
    return first.message


@pytest.mark.parametrize(("extra", "top", "reason"), [
    # The engine's socket, and through it root on the host.
    ("    volumes: [/var/run/docker.sock:/var/run/docker.sock]", "", "engine's socket"),
    ("    use_api_socket: true", "", "hands the container the Docker Engine"),
    # Compose made to run a program of the submission on the host.
    ("  evil:\n    provider: {type: ./app/run.sh, options: {x: y}}", "", "run a program on the host"),
    # Other containers' namespaces and volumes.
    ("    network_mode: 'container:mastery-other'", "", "network_mode"),
    ("    pid: 'container:mastery-other'", "", "`pid"),
    ("    volumes_from: ['container:mastery-other']", "", "volumes_from"),
    # A capability beyond Docker's defaults (LINUX_IMMUTABLE made files teardown could not delete).
    ("    cap_add: [LINUX_IMMUTABLE]", "", "LINUX_IMMUTABLE"),
    # Limits a submission sets for itself beyond the grader's: replicas are refused, the rest capped (below).
    ("    deploy: {replicas: 100}", "", "100 replicas"),
    # An existing tag taken over, then deleted by a sweep.
    ("  other:\n    image: python:3.13-slim\n    build: {context: ./app, tags: ['python:3.13-slim']}", "", "names the images"),
    # Seccomp switched off by a profile in the submission.
    ("    security_opt: ['seccomp=./app/profile.json']", "", "only no-new-privileges"),
    # A logging driver that makes the engine connect to a port of the host.
    ("    logging: {driver: gelf, options: {gelf-address: 'udp://127.0.0.1:12201'}}", "", "`gelf` driver"),
    # A network definition that adds a route to the host's table.
    ("    networks: [wide]", "networks:\n  wide:\n    ipam: {config: [{subnet: 10.0.0.0/8}]}\n", "ipam"),
    ("    networks: [wide]", "networks:\n  wide:\n    driver_opts: {com.docker.network.bridge.name: eth0}\n", "driver_opts"),
    # Files outside the folder: another project's compose file, an env file, a Dockerfile.
    ("    env_file: [../other-project/.env]", "", "is outside your folder"),
    ("  other:\n    build: {context: ., dockerfile: ../Dockerfile}", "", "is outside your folder"),
    ("    secrets: [pw]", "secrets:\n  pw:\n    file: ../other-project/compose.yaml\n", "is outside your folder"),
    ("  other:\n    extends: {file: ../other-project/compose.yaml, service: db}", "", "pulls in another file"),
    # One service swaps a bind-mounted folder for a link to / before the next one mounts it.
    ("    volumes: ['.:/work']\n  second:\n    image: python:3.13-slim\n    volumes: ['./app:/host']", "",
     "writable bind mount of . holds"),
])
def test_an_escape_is_refused_before_anything_starts(canaries: Path, extra: str, top: str, reason: str,
                                                     no_leftovers: None) -> None:
    (canaries / "app" / "run.sh").write_text("#!/bin/sh\ntouch ../../pwned\n")
    (canaries / "app" / "profile.json").write_text('{"defaultAction": "SCMP_ACT_ALLOW"}\n')
    write(canaries, extra, top)
    said = refused(grade(SPEC, canaries))
    assert reason in said, said
    assert not (canaries.parent / "pwned").exists()


def test_a_link_out_of_the_folder_is_refused_and_never_read(canaries: Path, no_leftovers: None) -> None:
    write(canaries)
    (canaries / "notes.env").symlink_to(canaries.parent / "other-project" / ".env")
    said = refused(grade(SPEC, canaries))
    assert "`notes.env` is a link to" in said and "outside your folder" in said


def test_the_grader_plants_its_files_without_following_a_link(canaries: Path, no_leftovers: None) -> None:
    """first-image plants `.git/HEAD`; a `.git` that is a link out of the folder is refused, nothing is written there."""
    (canaries / "Dockerfile").write_text(DOCKERFILE)
    (canaries / ".git").symlink_to(canaries.parent / "other-project", target_is_directory=True)
    from graders.labs import get_lab

    spec = get_lab("first-image")
    report = grade(replace(spec, limits=replace(spec.limits, build_timeout_s=60)), canaries)
    first = report.result("dockerfile_valid")
    assert first.status is Status.FAILED and "`.git` is a link to" in first.message, first.message
    assert not (canaries.parent / "other-project" / "HEAD").exists()


def test_a_link_inside_the_folder_is_graded_as_the_file_it_names(canaries: Path, no_leftovers: None) -> None:
    (canaries / "stack.yaml").write_text(SERVER.format(extra=""))
    (canaries / "compose.yaml").symlink_to("stack.yaml")
    report = grade(SPEC, canaries)
    assert report.result("stack_healthy").status is Status.PASSED, report.result("stack_healthy").message


def test_a_contained_run_gets_no_variable_of_the_graders_and_the_graders_limits(
        canaries: Path, monkeypatch: pytest.MonkeyPatch, no_leftovers: None) -> None:
    """Variables without a value, build arguments and interpolation see nothing of the grader's environment;
    limits the submission sets above the grader's are capped."""
    monkeypatch.setenv("INSTRUCTOR_TOKEN", CANARY_VALUE)
    (canaries / ".env").write_text("FROM_DOTENV=kept\n")
    monkeypatch.setenv("PATH", f"/grader/only/bin:{os.environ['PATH']}")
    write(canaries, "    environment: [INSTRUCTOR_TOKEN, PATH, FROM_DOTENV, 'SEEN=${INSTRUCTOR_TOKEN:-unset}']\n"
                    "    mem_limit: 64g\n    pids_limit: -1\n    cpus: 64\n    shm_size: 8g\n"
                    "    tmpfs: ['/scratch:size=100g']\n    stop_grace_period: 1h")
    SEEN.clear()
    report = grade(SPEC, canaries)
    assert report.result("look_inside").status is Status.PASSED, report.result("stack_healthy").message
    env = dict(line.partition("=")[::2] for line in SEEN["env"].splitlines())
    assert CANARY_VALUE not in SEEN["env"]
    assert "INSTRUCTOR_TOKEN" not in env and env["SEEN"] == "unset" and env["FROM_DOTENV"] == "kept"
    assert env["PATH"] == SEEN["image_env"]["PATH"]  # the image's own, not the grader's
    host = SEEN["host_config"]
    limits = SPEC.limits
    assert host["Memory"] == limits.memory_bytes and host["PidsLimit"] == limits.pids
    assert host["NanoCpus"] == limits.nano_cpus and host["ShmSize"] <= limits.memory_bytes
    assert "size=" in host["Tmpfs"]["/scratch"] and str(100 * 2**30) not in host["Tmpfs"]["/scratch"]
    assert SEEN["image"].startswith("mastery-grade/"), SEEN["image"]


def test_an_exec_that_never_returns_is_given_up_at_its_deadline(canaries: Path, no_leftovers: None) -> None:
    import time

    timings: list[float] = []

    def hang(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        started = time.monotonic()
        code, said = stack.exec("app", ["sleep", "100000"], timeout_s=2)
        timings.append(time.monotonic() - started)
        return Outcome.failed(said, "") if code == 124 else Outcome.passed(f"exit {code}")

    spec = replace(SPEC, checks=(*SPEC.checks[:3], Check("hang", "Hang", 1, Category.STATE, (Need.STACK,), hang)))
    write(canaries)
    report = grade(spec, canaries)
    assert "did not finish within 2 s" in report.result("hang").message
    assert timings and timings[0] < 10


def test_the_sweep_removes_only_what_the_run_made(canaries: Path, no_leftovers: None) -> None:
    """An image that is not the run's, even one named like the lab's, survives the run's teardown."""
    client = engine.client()
    base = client.images.get("python:3.13-slim")
    base.tag("mastery-bystander", "keep")
    try:
        write(canaries, "    image: mastery-bystander:keep")
        grade(SPEC, canaries)
        assert client.images.get("mastery-bystander:keep").id == base.id
        assert client.images.get("python:3.13-slim").id == base.id
    finally:
        client.images.remove("mastery-bystander:keep", noprune=True)


def test_a_stack_build_that_hangs_is_stopped_by_its_no_progress_budget(canaries: Path, no_leftovers: None) -> None:
    import time

    (canaries / "app" / "Dockerfile").write_text("FROM python:3.13-slim\nRUN sleep 100000\n")
    write(canaries)
    spec = replace(SPEC, limits=replace(SPEC.limits, build_stall_s=5))
    started = time.monotonic()
    report = grade(spec, canaries)
    builds = report.result("stack_builds")
    assert builds.status is Status.FAILED and "showed no progress for 5 s" in builds.message, builds.message
    assert "sleep 100000" in builds.message
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("kind", ["compose", "dockerfile"])
def test_a_runtime_phase_past_its_budget_is_cut_off(canaries: Path, kind: str, no_leftovers: None) -> None:
    """A check that would wait for ever (here the check itself, standing in for a stack that never answers)
    is cut off when the runtime budget (health budget + run timeout) is spent; the checks after it are not
    started, and the run ends soon after the budget."""
    import time

    def endless(ctx: GradingContext) -> Outcome:
        time.sleep(120)
        return Outcome.passed("never")

    limits = Limits(health_budget_s=10, run_timeout_s=4, build_timeout_s=120)
    running = (Need.STACK,) if kind == "compose" else (Need.CONTAINER,)
    checks = (Check("endless", "Endless", 1, Category.STATE, running, endless),
              Check("after", "After", 1, Category.STATE, running, lambda ctx: Outcome.passed("ran")))
    if kind == "compose":
        spec = replace(SPEC, limits=limits, checks=(*SPEC.checks[:3], *checks))
        write(canaries)
    else:
        spec = replace(SPEC, kind="dockerfile", files=("Dockerfile",), port=8080, limits=limits, checks=checks)
        (canaries / "Dockerfile").write_text(DOCKERFILE)
    started = time.monotonic()
    report = grade(spec, canaries)
    assert time.monotonic() - started < 60
    endless_result = report.result("endless")
    assert endless_result.status is Status.FAILED and "used up the 14 s" in endless_result.message, endless_result.message
    if kind == "compose":  # one after another: the next check is never started
        assert report.result("after").message.startswith("Not finished")
