"""The class's table in the shapes instructors import: grades.csv (every check), and the lab's column for a
Canvas gradebook and a Moodle grade import. A learner the grader could not grade gets an empty grade, not 0."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from graders.cohort.pool import Graded
from graders.results import Status
from graders.spec import LabSpec


def _csv(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _score(graded: Graded) -> str:
    return "" if graded.needs_rerun else f"{graded.report.score:g}"


def grades_csv(spec: LabSpec, cohort: Sequence[Graded]) -> str:
    """learner, score, max_score, status (graded or error), then each check's points (empty: not judged)."""
    rows: list[list[object]] = [["learner", "score", "max_score", "status", *(c.name for c in spec.checks)]]
    for graded in cohort:
        by_name = {r.name: r for r in graded.report.results}
        cells = ["" if by_name.get(c.name) is None or by_name[c.name].status in (Status.ERROR, Status.SKIPPED)
                 else f"{by_name[c.name].points:g}" for c in spec.checks]
        rows.append([graded.learner.name, _score(graded), f"{graded.report.max_score:g}",
                     "error" if graded.needs_rerun else "graded", *cells])
    return _csv(rows)


def canvas_csv(spec: LabSpec, cohort: Sequence[Graded]) -> str:
    """Canvas's gradebook import: Student, ID, SIS Login ID, Section, then the lab's column, named with its
    points as Canvas writes it. The learner's folder name goes in SIS Login ID, which Canvas matches on."""
    column = f"{spec.title} ({spec.id})"
    rows: list[list[object]] = [["Student", "ID", "SIS Login ID", "Section", column],
                                ["Points Possible", "", "", "", f"{spec.total_points:g}"]]
    rows += [[graded.learner.name, "", graded.learner.name, "", _score(graded)] for graded in cohort]
    return _csv(rows)


def moodle_csv(spec: LabSpec, cohort: Sequence[Graded]) -> str:
    """Moodle's grade import (Grades > Import > CSV file): a username column to map onto `username`, and the
    lab's grade column to map onto the grade item."""
    rows: list[list[object]] = [["username", spec.id]]
    rows += [[graded.learner.name, _score(graded)] for graded in cohort]
    return _csv(rows)
