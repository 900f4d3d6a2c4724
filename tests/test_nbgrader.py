"""The lab notebook through real nbgrader: generate the release, autograde the solution (full marks), the
untouched starter (zero), a partial attempt and a hostile submission, with the course's own nbgrader
settings; and `mastery grade` over the same submitted/ tree gives each learner the same score, which it writes
into a gradebook of its own that `nbgrader export` then reads back."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders.labs import get_lab
from graders.spec import REPO_ROOT
from graders.submission import materialize, variant

SPEC = get_lab("ml-api")
pytestmark = [pytest.mark.engine, pytest.mark.slow]


def nbgrader(course: Path, *args: str, force: bool = True) -> None:
    # nbgrader runs `alembic` and the kernel from PATH: put this environment's bin first, as activation would.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, *(["--force"] if force else [])], cwd=course, capture_output=True,
                          text=True, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_release_and_autograde(tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    shutil.copytree(SPEC.starter_dir, course / "source" / SPEC.id,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "model.joblib", "__pycache__"))
    config = (REPO_ROOT / "nbgrader_config.py").read_text().replace(
        'str(Path(__file__).resolve().parent)', repr(str(course))).replace('"labs"', '"source"')
    (course / "nbgrader_config.py").write_text(config)

    nbgrader(course, "generate_assignment", SPEC.id)
    release = course / "release" / SPEC.id
    assert (release / f"{SPEC.id}.ipynb").is_file() and (release / "Dockerfile").is_file()
    assert not any(p.name == "solution" for p in release.rglob("*"))
    # The gradebook as generate_assignment left it (the lab's check cells, no submissions), for mastery grade.
    shutil.copy(course / "gradebook.db", course / "gradebook-mastery.db")

    learners = {"solver": "solution", "starter": None, "partial": "broken/no-healthcheck", "hostile": "solution"}
    for learner, what in learners.items():
        submitted = course / "submitted" / learner / SPEC.id
        shutil.copytree(release, submitted)
        if what is not None:
            materialize(SPEC, variant(SPEC, what) if what != "solution" else None, into=submitted)
    dockerfile = course / "submitted" / "hostile" / SPEC.id / "Dockerfile"  # the app is a fork bomb
    dockerfile.write_text(dockerfile.read_text().rsplit("CMD ", 1)[0] + 'CMD ["bash", "-c", ":(){ :|:& };:; sleep 600"]\n')
    nbgrader(course, "autograde", SPEC.id)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        solver = gradebook.find_submission(SPEC.id, "solver")
        starter = gradebook.find_submission(SPEC.id, "starter")
        assert solver.max_score == SPEC.total_points
        assert solver.score == SPEC.total_points, [(g.name, g.score) for g in solver.notebooks[0].grades]
        assert starter.score == 0
        by_nbgrader = {learner: gradebook.find_submission(SPEC.id, learner).score for learner in learners}
    assert 0 < by_nbgrader["partial"] < SPEC.total_points and by_nbgrader["hostile"] < SPEC.total_points

    from click.testing import CliRunner

    from graders.cli import main

    graded = CliRunner().invoke(main, ["grade", SPEC.id, str(course), "-j", "2", "--out", str(tmp_path / "graded"),
                                       "--gradebook", str(course / "gradebook-mastery.db")])
    assert graded.exit_code == 0, graded.output
    rows = {r["learner"]: float(r["score"]) for r in csv.DictReader((tmp_path / "graded" / "grades.csv").open())}
    assert rows == by_nbgrader
    assert "4 learners' scores written" in graded.output
    nbgrader(course, "export", "--db", f"sqlite:///{course / 'gradebook-mastery.db'}", "--to", "export.csv", force=False)
    exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader((course / "export.csv").open())
                if r["assignment"] == SPEC.id}
    assert exported == by_nbgrader
