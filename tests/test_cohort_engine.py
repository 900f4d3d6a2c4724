"""`mastery grade` on the engine: a small cohort of ml-api submissions (the solution, a correct alternative,
a broken and a gaming variant), two at a time; every learner gets the verdict `mastery check` gives, the
class files list them, and a second run over the unchanged cohort grades nothing again."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIGURES

from graders.cli import main
from graders.labs import get_lab
from graders.submission import materialize, variant

pytestmark = [pytest.mark.engine, pytest.mark.slow]
SPEC = get_lab("ml-api")
COHORT = {"alice": None, "bob": "alternatives/model-path-env", "carol": "broken/no-healthcheck",
          "dave": "gaming/hardcoded-predictions"}


def test_a_cohort_is_graded_in_parallel_and_an_unchanged_rerun_reuses_every_result(tmp_path: Path,
                                                                                     no_leftovers: None) -> None:
    for learner, name in COHORT.items():
        materialize(SPEC, variant(SPEC, name) if name else None, into=tmp_path / "class" / learner)
    out = tmp_path / "graded"
    started = time.monotonic()
    first = CliRunner().invoke(main, ["grade", SPEC.id, str(tmp_path / "class"), "-j", "2", "--out", str(out)])
    first_s = time.monotonic() - started
    assert first.exit_code == 0, first.output
    rows = {r["learner"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == set(COHORT) and all(r["status"] == "graded" for r in rows.values())
    assert rows["alice"]["score"] == rows["bob"]["score"] == "100"
    for learner, name in COHORT.items():
        if name and not name.startswith("alternatives/"):
            lost = {c for c in variant(SPEC, name).fails}
            assert {c.name for c in SPEC.checks if rows[learner][c.name] == "0"} == lost, (learner, rows[learner])
        assert (out / "learners" / learner / "results.json").is_file()
    started = time.monotonic()
    again = CliRunner().invoke(main, ["grade", SPEC.id, str(tmp_path / "class"), "-j", "2", "--out", str(out)])
    again_s = time.monotonic() - started
    assert again.exit_code == 0 and again.output.count("(unchanged, kept)") == len(COHORT), again.output
    assert again_s < 0.05 * first_s, (again_s, first_s)
    FIGURES["mastery grade, 4 ml-api learners at -j 2"] = f"{first_s:.1f} s; unchanged re-run {again_s:.2f} s"
