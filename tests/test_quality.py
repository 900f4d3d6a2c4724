"""The style bar as tests: ruff and mypy clean, shell scripts parse, the bootstrap is quiet when all is there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders.labs import all_labs
from graders.spec import REPO_ROOT

BIN = Path(sys.executable).parent


def run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


def test_ruff_clean() -> None:
    proc = run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_mypy_clean() -> None:
    proc = run(str(BIN / "mypy"))
    assert proc.returncode == 0, proc.stdout[-4000:]


SHELL_SCRIPTS = [*sorted((REPO_ROOT / "scripts").glob("*.sh")), *sorted((REPO_ROOT / "graders" / "stand_ins").glob("*.sh")),
                 REPO_ROOT / ".ci" / "run"]


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script: Path) -> None:
    assert run("bash", "-n", str(script)).returncode == 0


def test_labs_json_contract() -> None:
    proc = run(sys.executable, "-m", "graders", "labs", "--json")
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)
    assert [e["id"] for e in entries] == list(all_labs())
    for entry in entries:
        assert set(entry) == {"id", "title", "lesson", "kind", "total_points", "solution", "solution_check", "variants",
                              "checks"}
        assert (REPO_ROOT / entry["solution"]).is_dir()
        assert entry["solution_check"] == f"mastery check {entry['id']} --solution"
        assert set(entry["variants"]) == {"broken", "alternatives", "gaming"} and entry["variants"]["broken"]
        assert entry["total_points"] == sum(c["points"] for c in entry["checks"])
        for check in entry["checks"]:
            assert set(check) == {"name", "points", "tags"} and check["tags"]


@pytest.mark.engine
def test_bootstrap_is_quiet_and_idempotent_when_all_is_there() -> None:
    proc = run("bash", "scripts/bootstrap-engine.sh", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


@pytest.mark.engine
def test_doctor_says_grading_can_run() -> None:
    proc = run(sys.executable, "-m", "graders", "doctor", timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert "Grading can run here." in proc.stdout


@pytest.mark.engine
@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker CLI")
def test_compose_file_is_valid() -> None:
    proc = run("docker", "compose", "-f", "compose.yaml", "config", "--quiet", timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.engine
def test_the_reference_and_each_variant_grade_as_mastery_labs_names_them() -> None:
    """What an instructor types to see the reference or a variant graded: full marks, a failure, and clear
    refusals of a wrong name or of a folder given as well."""
    solution = run(sys.executable, "-m", "graders", "check", "first-image", "--solution")
    assert solution.returncode == 0, solution.stdout + solution.stderr
    broken = run(sys.executable, "-m", "graders", "check", "first-image", "--variant", "broken/no-cmd")
    assert broken.returncode == 1 and "no-cmd" not in broken.stderr, broken.stdout + broken.stderr
    unknown = run(sys.executable, "-m", "graders", "check", "first-image", "--variant", "nope")
    assert unknown.returncode == 2 and "has no variant 'nope'" in unknown.stderr and "broken/no-cmd" in unknown.stderr
    both = run(sys.executable, "-m", "graders", "check", "first-image", "labs/first-image", "--solution")
    assert both.returncode == 2 and "not both" in both.stderr


@pytest.mark.parametrize("name", ["check_latency", "stack_latency", "cohort", "package_cache"])
def test_the_benchmarks_load(name: str) -> None:
    """The benchmarks run rarely, by hand: an import they lost (a lab's samples became drawn per run) must
    show here, not when someone wants the figures."""
    proc = run(sys.executable, "-c", f"import sys; sys.path.insert(0, 'benchmarks'); import {name}")
    assert proc.returncode == 0, proc.stderr


def test_the_cohort_benchmark_deals_solutions_alternatives_and_broken_variants(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import cohort

    folders = cohort.make_cohort(tmp_path, 12)
    learners = {lab: sorted(p.name for p in folder.iterdir()) for lab, folder in folders.items()}
    assert [len(names) for names in learners.values()] == [4, 4, 4] and sum(map(len, learners.values())) == 12
    ml_api = [(folders["ml-api"] / name / "Dockerfile").read_text() for name in learners["ml-api"]]
    assert len(set(ml_api)) == 4  # the solution, then variants: four different submissions
