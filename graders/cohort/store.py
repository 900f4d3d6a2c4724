"""Each learner's result under the output folder, with the key it was graded under: a later run with the
same key reads it instead of grading again, so an interrupted run loses only the gradings in flight."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from graders.reporters import REPORTERS, report_json
from graders.reporters.json_report import report_from_json
from graders.results import GradeReport


class ResultStore:
    """OUT/learners/<learner>/: report.json (every status), results.json (Gradescope's), feedback.html,
    and key (what the result was graded from)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        (out / "learners").mkdir(parents=True, exist_ok=True)

    def folder(self, learner: str) -> Path:
        return self.out / "learners" / learner

    def load(self, learner: str, key: str) -> GradeReport | None:
        """The stored result when it was graded under `key`; None when there is none, it is of another key, or
        it cannot be read (then it is graded again). A grading the grader failed on is never reused."""
        folder = self.folder(learner)
        try:
            if (folder / "key").read_text().strip() != key:
                return None
            report = report_from_json(json.loads((folder / "report.json").read_text()))
        except (OSError, ValueError):
            return None
        return None if report.grader_failed or report.problem else report

    def save(self, learner: str, key: str, report: GradeReport) -> None:
        """Written file by file through a temporary name, the key last: a run killed in between leaves no key
        that points at half a result."""
        folder = self.folder(learner)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "key").unlink(missing_ok=True)
        _write(folder / "report.json", json.dumps(report_json(report), indent=2) + "\n")
        _write(folder / "results.json", REPORTERS["gradescope"].render(report))
        _write(folder / "feedback.html", REPORTERS["html"].render(report))
        _write(folder / "key", key + "\n")


def _write(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, path)
