"""`mastery grade --gradebook`: the scores into nbgrader's gradebook, as `nbgrader autograde` would leave them
(one auto-score per check cell, `check-<name>`), so `nbgrader export` and formgrader see a class graded by
`mastery grade`. A learner the grader could not judge is left out: never a 0 of the grader's making."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from graders.cohort.pool import Graded
from graders.errors import UsageError
from graders.spec import LabSpec


def gradebook_url(where: str) -> str:
    """An SQLAlchemy URL as nbgrader takes it, or a path to nbgrader's gradebook.db."""
    return where if "://" in where else f"sqlite:///{Path(where).resolve()}"


def write_gradebook(where: str, spec: LabSpec, cohort: Sequence[Graded]) -> int:
    """Each judged learner's check scores, over what was there before; how many learners were written."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(gradebook_url(where)) as gradebook:
        try:
            gradebook.find_assignment(spec.id)
        except MissingEntry:
            raise UsageError(f"The gradebook at {where} has no assignment `{spec.id}`.",
                             f"Run `nbgrader generate_assignment {spec.id}` in the course folder first: it "
                             "records the lab's check cells, which the scores go into.") from None
        written = 0
        for graded in cohort:
            if graded.needs_rerun:
                continue
            name = graded.learner.name
            gradebook.update_or_create_student(name)
            try:
                gradebook.find_submission(spec.id, name)
            except MissingEntry:
                gradebook.add_submission(spec.id, name)
            for result in graded.report.results:
                grade = gradebook.find_grade(f"check-{result.name}", spec.id, spec.id, name)
                grade.auto_score = result.points
            gradebook.db.commit()
            written += 1
    return written
