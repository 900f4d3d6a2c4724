"""An invented class for the instructors' page: the class report and feedback pages the grader's own code
writes (graders/cohort/class_report.py, the html reporter), filled with made-up learners, so the page shows
what `mastery grade` writes today rather than a picture that goes stale. Every message says it is invented."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from graders.cohort.class_report import class_report_html
from graders.cohort.discover import Learner
from graders.cohort.pool import Graded
from graders.reporters import REPORTERS
from graders.results import CheckResult, GradeReport, Status
from graders.spec import LabSpec

NAMES = ("ada", "ben", "chen", "dara", "emil", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lena", "malik",
         "nora", "omar", "pia", "quinn", "rosa", "sami", "tara", "uma", "vik", "wen", "yara")


def example_cohort(spec: LabSpec, seed: int = 2026) -> list[Graded]:
    """One made-up learner per name; the later a check, the more of them fail it (a class's usual shape), and
    one learner's grading is an error, listed for a re-run."""
    pick = random.Random(seed)
    cohort = []
    for n, name in enumerate(NAMES):
        results = []
        for index, check in enumerate(spec.checks):
            passed = pick.random() > 0.08 + 0.5 * index / max(len(spec.checks), 1)
            results.append(CheckResult(
                check.name, check.title, Status.PASSED if passed else Status.FAILED,
                check.points if passed else 0.0, check.points, check.category,
                f"(invented for this example) {check.title}: {'met' if passed else 'not met'}.",
                "" if passed else "A real report says here what to change.", check.tags))
        problem = "(invented for this example) the engine stopped answering" if n == len(NAMES) - 1 else ""
        report = GradeReport(spec.id, spec.title, f"submissions/{name}", results, seconds=40 + pick.random() * 50,
                             problem=problem)
        cohort.append(Graded(Learner(name, Path("submissions") / name), report, engine="example"))
    return cohort


def example_pages(spec: LabSpec, folder: str) -> Iterator[tuple[str, str]]:
    """(path under `folder`, page): the class report and each learner's feedback page it links to."""
    cohort = example_cohort(spec)
    yield f"{folder}/report.html", class_report_html(spec, cohort)
    for graded in cohort:
        yield f"{folder}/learners/{graded.learner.name}/feedback.html", REPORTERS["html"].render(graded.report)
