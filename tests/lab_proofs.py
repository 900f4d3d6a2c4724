"""The two proofs every lab owes (DESIGN.md), shared by the lab tests and the GPU rehearsal: the
solution scores full marks, and a broken variant loses exactly the points of the checks it names."""

from __future__ import annotations

import re
from pathlib import Path

from engine_state_proofs import task_done

from graders.results import GradeReport, Status
from graders.runner import grade
from graders.spec import LabSpec
from graders.submission import Variant, materialize


def solution_scores_full_marks(spec: LabSpec, tmp_path: Path, alternative: Variant | None = None) -> GradeReport:
    """The reference solution, or an alternative correct one, scores every point this host can award."""
    folder = materialize(spec, alternative, into=tmp_path / "sub")
    with task_done(spec, folder, must_succeed=True):  # an engine-state lab: its commands run first
        report = grade(spec, folder)
    failed = {r.name: r.message for r in report.results if r.status not in (Status.PASSED, Status.SKIPPED)}
    assert not failed, failed
    for r in report.results:
        if r.status is Status.SKIPPED:  # only a check that needs what this host lacks, and it says why
            assert spec.check(r.name).skip_unless is not None and r.message, r
    assert report.score == report.max_score == spec.total_points - report.skipped_points
    return report


def variant_fails_exactly_its_checks(spec: LabSpec, variant: Variant, tmp_path: Path) -> GradeReport:
    folder = materialize(spec, variant, into=tmp_path / "sub")
    with task_done(spec, folder, must_succeed=False):
        report = grade(spec, folder)
    skipped = {r.name for r in report.results if r.status is Status.SKIPPED}  # e.g. GPU checks on a host without
    expected = set(variant.fails) - skipped
    assert report.failed_names() == expected, {r.name: r.message for r in report.results}
    lost = sum(spec.check(name).points for name in expected)
    assert report.score == spec.total_points - lost - report.skipped_points
    for r in report.results:
        if r.name in expected:
            assert r.status is Status.FAILED, f"{r.name} should fail, not {r.status}: {r.message}"
            blocked = r.message.startswith("Not checked:")  # the blocking check itself carries the hint
            assert r.message and (r.hint or blocked), f"{r.name} must say what it saw and what to change"
            leaked = INTERNAL.search(r.message + "\n" + r.hint)
            assert leaked is None, f"{r.name} shows the learner an internal name ({leaked.group(0)!r}): {r.message}"
            assert blocked or names_what_it_concerns(r.message + "\n" + r.hint, folder), \
                f"{r.name} does not say where to look (a file, an instruction, a line, a path, a request): {r.message} / {r.hint}"
    return report


# What a learner never needs to see: the grader's scratch folders, its image and project names, its own code.
# (A traceback of the learner's own program, in its output or a probe's, is theirs to read.)
INTERNAL = re.compile(r"/tmp/mastery-|mastery-grade/|mastery-[a-z-]+-[0-9a-f]{12}\b|\bgraders\.[a-z_]+\b|graders/[a-z_]+\.py")


# What a message can point at: a Dockerfile instruction, a line, something of the submission quoted in
# backticks (a service, a key, a command), a request (method and path, a URL, a port), a path in the image or
# container, an environment variable, or a file of the submission (by its name, matched below).
CONCERNS = re.compile(r"\b(?:FROM|RUN|COPY|ADD|USER|HEALTHCHECK|ENV|ARG|WORKDIR|CMD|ENTRYPOINT|EXPOSE|VOLUME|LABEL)\b"
                      r"|\bline \d+|`[^`\n]+`|\b(?:GET|POST|PUT|DELETE|HEAD) /|https?://|\bport \d+|:\d{2,5}\b"
                      r"|(?<![\w/.])/[a-z][\w.-]*(?:/[\w.-]+)*|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")


def names_what_it_concerns(text: str, folder: Path) -> bool:
    """Whether a failure message (with its hint) tells the learner where to look: a file of their submission
    by name, or one of the CONCERNS. A message that only says a check failed gives them nowhere to start."""
    if CONCERNS.search(text):
        return True
    names = {p.name for p in folder.rglob("*") if p.is_file()} | {p.relative_to(folder).as_posix() for p in folder.rglob("*")}
    return any(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text) for name in names)
