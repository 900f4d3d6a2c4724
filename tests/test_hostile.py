"""Hostile and broken submissions: each gets a clear message, no traceback, and leaves nothing behind.

A tiny lab spec with tight limits keeps these fast; its images need no downloads.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from graders import engine
from graders.checks.build import image_builds
from graders.checks.endpoint import http_probe
from graders.checks.health import becomes_healthy
from graders.checks.static import dockerfile_valid
from graders.checks.user import runs_as_non_root
from graders.labs import get_lab
from graders.limits import Limits
from graders.results import GradeReport, Status
from graders.runner import grade
from graders.spec import LabSpec

pytestmark = pytest.mark.engine

SERVER = 'CMD ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"]'
TINY = LabSpec(
    id="hostile-probe", title="Hostile inputs", lesson="", kind="dockerfile", files=("Dockerfile",),
    base_images=("python:3.13-slim",), folder=Path(__file__).parent, port=8080,
    limits=Limits(build_timeout_s=20, health_budget_s=8, memory_bytes=64 * 2**20, pids=64),
    checks=(dockerfile_valid(1), image_builds(1), runs_as_non_root(1), becomes_healthy(1),
            http_probe("root_page", "GET / answers 200", 1, "GET", "/")),
)


def run(tmp_path: Path, dockerfile: str | None, spec: LabSpec = TINY) -> GradeReport:
    if dockerfile is not None:
        (tmp_path / "Dockerfile").write_text(dockerfile)
    return grade(spec, tmp_path)


def message(report: GradeReport, name: str) -> str:
    r = report.result(name)
    assert r.status is Status.FAILED, f"{name}: {r.status} {r.message}"
    return r.message


def test_missing_dockerfile(tmp_path: Path, no_leftovers: None) -> None:
    report = run(tmp_path, None)
    assert "There is no Dockerfile" in message(report, "dockerfile_valid")
    assert report.score == 0
    assert "must parse first" in message(report, "image_builds")


def test_syntax_error(tmp_path: Path, no_leftovers: None) -> None:
    report = run(tmp_path, "FROM python:3.13-slim\nRUNN echo hi\n")
    assert "line 2: unknown instruction 'RUNN'" in message(report, "dockerfile_valid")


def test_build_that_never_ends_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    spec = replace(TINY, limits=replace(TINY.limits, build_timeout_s=6))
    report = run(tmp_path, f"FROM python:3.13-slim\nRUN sleep 600\n{SERVER}\n", spec)
    text = message(report, "image_builds")
    assert "still running after 6 s and was stopped" in text
    assert report.seconds < 60
    for _ in range(40):  # the engine removes the cancelled step's container within seconds
        leftover = subprocess.run(["docker", "ps", "-aq", "--filter", "ancestor=python:3.13-slim"],
                                  capture_output=True, text=True).stdout.strip()
        if not leftover:
            break
        time.sleep(0.5)
    assert leftover == "", "the cancelled build left its step container behind"


def test_buildkit_build_that_never_ends_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    spec = replace(TINY, limits=replace(TINY.limits, build_timeout_s=6))
    report = run(tmp_path, "FROM python:3.13-slim\nRUN --mount=type=cache,target=/root/.cache sleep 587\n"
                           f"{SERVER}\n", spec)
    assert "still running after 6 s and was stopped" in message(report, "image_builds")
    for _ in range(20):
        still = subprocess.run(["pgrep", "-f", "sleep 587"], capture_output=True, text=True).stdout.strip()
        if not still:
            break
        time.sleep(0.5)
    assert not still, "the BuildKit step kept running after the build was stopped"


def test_failing_build_shows_the_log(tmp_path: Path, no_leftovers: None) -> None:
    report = run(tmp_path, f"FROM python:3.13-slim\nRUN echo about-to-fail && exit 3\n{SERVER}\n")
    text = message(report, "image_builds")
    # BuildKit (Engine 23 and later) and the legacy builder word the step's failure differently.
    failed_step = ("did not complete successfully: exit code: 3" if engine.buildkit_by_default()
                   else "returned a non-zero code: 3")
    assert failed_step in text and "about-to-fail" in text


def test_container_that_exits_at_once(tmp_path: Path, no_leftovers: None) -> None:
    report = run(tmp_path, 'FROM python:3.13-slim\nCMD ["python3", "-c", "raise SystemExit(\'model file missing\')"]\n')
    text = message(report, "root_page")
    assert "stopped right after it started (exit code 1)" in text and "model file missing" in text


def test_container_that_never_gets_healthy(tmp_path: Path, no_leftovers: None) -> None:
    report = run(tmp_path, f"FROM python:3.13-slim\nUSER nobody\nHEALTHCHECK --interval=5s CMD false\n{SERVER}\n")
    text = message(report, "becomes_healthy")
    assert "was not healthy after" in text and "exit 1" in text
    assert report.result("root_page").passed and report.result("runs_as_non_root").passed


def test_port_that_never_opens(tmp_path: Path, no_leftovers: None) -> None:
    report = run(tmp_path, 'FROM python:3.13-slim\nCMD ["python3", "-m", "http.server", "8080", "--bind", "127.0.0.1"]\n')
    text = message(report, "root_page")
    assert "listens on 127.0.0.1:8080 inside the container" in text
    assert "0.0.0.0" in report.result("root_page").hint


def test_fork_bomb_hits_the_process_limit(tmp_path: Path, no_leftovers: None) -> None:
    bomb = 'CMD ["bash", "-c", ":(){ :|:& };:; sleep 600"]'
    report = run(tmp_path, f"FROM python:3.13-slim\n{bomb}\n")
    assert "process limit (64 processes)" in message(report, "root_page")


def test_memory_hog_is_stopped(tmp_path: Path, no_leftovers: None) -> None:
    hog = 'CMD ["python3", "-c", "x = bytearray(512 * 2**20); import time; time.sleep(600)"]'
    report = run(tmp_path, f"FROM python:3.13-slim\n{hog}\n")
    assert "using more than 64 MB of memory" in message(report, "root_page")


def test_cli_never_shows_a_traceback(tmp_path: Path) -> None:
    cases = [
        (["check", "no-such-lab"], 2, "There is no lab called"),
        (["check", "ml-api", str(tmp_path / "missing")], 2, "is not a folder"),
    ]
    for argv, code, text in cases:
        proc = subprocess.run([sys.executable, "-m", "graders", *argv], capture_output=True, text=True, timeout=60)
        assert proc.returncode == code, proc.stderr
        assert text in proc.stderr and "Traceback" not in proc.stderr


def test_cli_without_engine_exits_2(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no.sock", "PATH": "/usr/bin:/bin"}
    folder = tmp_path / "sub"
    folder.mkdir()
    proc = subprocess.run([sys.executable, "-m", "graders", "check", "ml-api", str(folder)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert "No Docker Engine answers" in proc.stderr and "Traceback" not in proc.stderr
    assert get_lab("ml-api")  # the lab exists: the failure is the engine's


def test_buildkit_features_build_with_buildkit(tmp_path: Path, no_leftovers: None) -> None:
    report = run(tmp_path, "FROM python:3.13-slim\nRUN --mount=type=cache,target=/root/.cache echo cached\n"
                           f"USER nobody\n{SERVER}\n")
    built = report.result("image_builds")
    assert built.passed, built.message
    assert "buildkit builder" in built.message
    assert report.result("root_page").passed


def test_huge_build_context_is_refused_unless_ignored(tmp_path: Path, no_leftovers: None) -> None:
    from graders.build import MAX_CONTEXT_BYTES, context_size

    data = tmp_path / "data"
    data.mkdir()
    with (data / "big.bin").open("wb") as f:
        f.truncate(MAX_CONTEXT_BYTES + 1)  # sparse: costs no disk
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.13-slim\nUSER nobody\n{SERVER}\n")
    report = grade(TINY, tmp_path)
    assert "build context" in message(report, "image_builds") and ".dockerignore" in report.result("image_builds").hint
    (tmp_path / ".dockerignore").write_text("# the data stays out\ndata/\n")
    assert context_size(tmp_path) < 1000
