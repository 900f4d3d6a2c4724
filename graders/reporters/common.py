"""What every format shares: the status marks and colours, the points notation and the one-line summary.

Kept apart from the formats so that a terminal table, a JSON file and a JUnit file say the same thing in
the same words.
"""

from __future__ import annotations

import re

from graders.results import GradeReport, Status

MARK = {Status.PASSED: "✔", Status.FAILED: "✘", Status.SKIPPED: "–", Status.ERROR: "!"}
STYLE = {Status.PASSED: "green", Status.FAILED: "red", Status.SKIPPED: "yellow", Status.ERROR: "magenta"}
# Control characters other than tab and newline (a build log may hold ANSI colour codes), lone surrogates
# (undecodable bytes) and the two non-characters: XML 1.0 cannot carry them, UTF-8 cannot encode the
# surrogates, and colour codes would colour a text file. Shown as \x1b, \udc80 rather than lost.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

COLOUR = {Status.PASSED: "#1b7f3b", Status.FAILED: "#b42318", Status.SKIPPED: "#8a6d00", Status.ERROR: "#7a2e8e"}


def points(value: float) -> str:
    """10 rather than 10.0, 2.5 as 2.5: points read as a learner counts them."""
    return f"{value:g}"


def summary(report: GradeReport) -> str:
    """The verdict in one line: score, time, what was skipped, and whether the grader itself failed."""
    line = f"{report.lab_id}: {points(report.score)}/{points(report.max_score)} points in {report.seconds:.1f} s"
    if report.skipped_points:
        line += f" ({points(report.skipped_points)} points skipped on this host, not counted)"
    if report.grader_failed:
        line += (f"; the grader itself failed on {report.errors} check{'s' if report.errors != 1 else ''} "
                 "(marked error): not a verdict on your work, grade again")
    return line


def detail(message: str, hint: str) -> str:
    """What the grader saw, then the hint on a line of its own: the plain-text body of one check."""
    return message + (f"\nHint: {hint}" if hint else "")


def visible_controls(text: str) -> str:
    """Control characters (ESC of a colour code, NUL) written as \\x1b, \\x00: seen, and harmless in a file."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)
