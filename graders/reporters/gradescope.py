"""Gradescope's results.json, keeping to the keys its autograder specification documents
(https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Gradescope knows two test statuses, passed and failed. A check the grader itself could not judge (error)
is failed with "Grader error:" in front, so that no one reads it as a pass; a skipped check (it cannot run
on this host) carries no status, 0 of 0 points, the tag "skipped" and its reason, so it never adds to the
score nor to its maximum. Names the spec does not list (the check's id, the maximum score) go in
`extra_data`, the place it gives for data of one's own.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from graders.reporters.common import summary
from graders.results import CheckResult, GradeReport, Status

VISIBILITIES: Final = ("hidden", "after_due_date", "after_published", "visible")
OUTPUT_FORMAT: Final = "md"

_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")  # characters that start markup anywhere in a line
_LINE_START = re.compile(r"^([ \t]*)([#>+=-]|\d+(?=[.)]))", re.MULTILINE)  # headings, quotes, lists, rules


def _escape_line_start(m: re.Match[str]) -> str:
    indent, mark = m.groups()
    return f"{indent}{mark}\\" if mark.isdigit() else f"{indent}\\{mark}"  # "1\. item", "\# title"


def markdown_text(text: str) -> str:
    """Text that Gradescope's Markdown shows exactly as written: markup characters are escaped, and each
    line break stays a line break (two trailing spaces) instead of running into the line before."""
    escaped = _LINE_START.sub(_escape_line_start, _INLINE.sub(r"\\\1", text))
    return re.sub(r"(?<!\n)\n(?!\n)", "  \n", escaped)


def _test(r: CheckResult, visibility: str) -> dict[str, Any]:
    output = markdown_text(r.message) + (f"\n\nHint: {markdown_text(r.hint)}" if r.hint else "")
    entry: dict[str, Any] = {"name": r.title, "name_format": "text", "score": r.points, "max_score": r.max_points,
                             "output": output, "output_format": OUTPUT_FORMAT, "tags": list(r.all_tags),
                             "visibility": visibility, "extra_data": {"check_id": r.name}}
    if r.status is Status.SKIPPED:
        entry.update(max_score=0, output=f"Skipped: {output}", tags=[*r.all_tags, "skipped"])
    elif r.status is Status.ERROR:
        entry.update(status="failed", output=f"Grader error: {output}")
    else:
        entry["status"] = r.status.value
    return entry


def results_json(report: GradeReport, visibility: str = "visible", stdout_visibility: str = "hidden") -> dict[str, Any]:
    """The results.json object. `visibility` applies to the whole result and each test; stdout (what the
    autograder printed) stays for instructors unless told otherwise, as on Gradescope by default."""
    for value in (visibility, stdout_visibility):
        if value not in VISIBILITIES:
            raise ValueError(f"Gradescope visibility {value!r} is not one of {', '.join(VISIBILITIES)}")
    return {"score": report.score, "execution_time": round(report.seconds, 2),
            "output": markdown_text(summary(report)), "output_format": OUTPUT_FORMAT,
            "visibility": visibility, "stdout_visibility": stdout_visibility,
            "extra_data": {"lab_id": report.lab_id, "max_score": report.max_score},
            "tests": [_test(r, visibility) for r in report.results]}


class GradescopeReporter:
    """results.json for a Gradescope autograder (`run_autograder` writes it to /autograder/results/)."""

    name = "gradescope"
    description = "Gradescope's results.json"
    suffix = ".json"

    def __init__(self, visibility: str = "visible", stdout_visibility: str = "hidden") -> None:
        self.visibility = visibility
        self.stdout_visibility = stdout_visibility

    def render(self, report: GradeReport) -> str:
        return json.dumps(results_json(report, self.visibility, self.stdout_visibility), indent=2) + "\n"
