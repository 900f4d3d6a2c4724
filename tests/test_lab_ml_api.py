"""The `mastery check` command on the ml-api lab: exit codes, the table, and Gradescope's results.json.
(Every lab's solution and broken variants are proven in test_labs.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graders.labs import get_lab
from graders.submission import materialize, variants

SPEC = get_lab("ml-api")
pytestmark = [pytest.mark.engine, pytest.mark.slow]


def test_cli_check_writes_gradescope_json(tmp_path: Path, no_leftovers: None) -> None:
    folder = materialize(SPEC, into=tmp_path / "sub")
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "graders", "check", "ml-api", str(folder), "--json", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["score"] == data["extra_data"]["max_score"] == 100
    assert [t["extra_data"]["check_id"] for t in data["tests"]] == [c.name for c in SPEC.checks]
    assert all(t["status"] == "passed" for t in data["tests"])


def test_cli_check_exits_1_when_a_check_fails(tmp_path: Path, no_leftovers: None) -> None:
    folder = materialize(SPEC, next(v for v in variants(SPEC) if v.name == "root-user"), into=tmp_path / "sub")
    proc = subprocess.run([sys.executable, "-m", "graders", "check", "ml-api", str(folder)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "runs_as_non_root" in proc.stdout and "Hint" in proc.stdout
