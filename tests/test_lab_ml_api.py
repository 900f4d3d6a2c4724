"""ml-api proven both ways on a real engine: the solution scores full marks, each broken variant loses
exactly the points of the checks it names, and nothing labelled is left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graders.labs import get_lab
from graders.results import Status
from graders.runner import grade
from graders.submission import materialize, variants

SPEC = get_lab("ml-api")
pytestmark = [pytest.mark.engine, pytest.mark.slow]


def test_solution_scores_full_marks(tmp_path: Path, no_leftovers: None) -> None:
    report = grade(SPEC, materialize(SPEC, into=tmp_path / "sub"))
    failed = {r.name: r.message for r in report.results if r.status is not Status.PASSED}
    assert not failed, failed
    assert report.score == report.max_score == SPEC.total_points == 100


@pytest.mark.parametrize("variant", variants(SPEC), ids=lambda v: v.name)
def test_broken_variant_fails_exactly_its_checks(variant, tmp_path: Path, no_leftovers: None) -> None:  # type: ignore[no-untyped-def]
    report = grade(SPEC, materialize(SPEC, variant, into=tmp_path / "sub"))
    assert report.failed_names() == set(variant.fails), {r.name: r.message for r in report.results}
    lost = sum(SPEC.check(name).points for name in variant.fails)
    assert report.score == SPEC.total_points - lost
    for r in report.results:
        if r.name in variant.fails:
            assert r.status is Status.FAILED, f"{r.name} should fail, not {r.status}: {r.message}"
            blocked = r.message.startswith("Not checked:")  # the blocking check itself carries the hint
            assert r.message and (r.hint or blocked), f"{r.name} must say what it saw and what to change"


def test_cli_check_writes_gradescope_json(tmp_path: Path, no_leftovers: None) -> None:
    folder = materialize(SPEC, into=tmp_path / "sub")
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "graders", "check", "ml-api", str(folder), "--json", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] == 100
    assert [t["name_id"] for t in data["tests"]] == [c.name for c in SPEC.checks]
    assert all(t["status"] == "passed" for t in data["tests"])


def test_cli_check_exits_1_when_a_check_fails(tmp_path: Path, no_leftovers: None) -> None:
    folder = materialize(SPEC, next(v for v in variants(SPEC) if v.name == "root-user"), into=tmp_path / "sub")
    proc = subprocess.run([sys.executable, "-m", "graders", "check", "ml-api", str(folder)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "runs_as_non_root" in proc.stdout and "Hint" in proc.stdout
