"""Grading from a lab notebook: one grading run, then one autograded cell per check.

Nothing here writes to stderr: nbgrader scored a passing test cell 0 when it had (seen). Progress and
verdicts are HTML shown in the notebook.
"""

from __future__ import annotations

import html
import logging
import warnings
from pathlib import Path

from graders import progress as progress_record
from graders import reporters as report_mod
from graders import runs
from graders.errors import GraderError, Interrupted
from graders.labs import get_lab
from graders.results import GradeReport, Status
from graders.runner import grade

log = logging.getLogger(__name__)


class CheckFailed(AssertionError):
    """Raised by a test cell whose check did not pass; nbgrader gives that cell 0 points."""


def _display(markup: str, display_id: str | None = None, update: bool = False) -> None:
    try:
        from IPython.display import HTML, display, update_display
    except ImportError:  # outside IPython: plain text is enough
        print(markup)
        return
    if update and display_id:
        update_display(HTML(markup), display_id=display_id)  # type: ignore[no-untyped-call]
    else:
        display(HTML(markup), display_id=display_id)  # type: ignore[no-untyped-call]


class NotebookReport:
    def __init__(self, report: GradeReport) -> None:
        self.report = report

    def _repr_html_(self) -> str:
        if self.report.problem:
            return f"<p style='color:#b42318'><b>Grading could not run:</b> {html.escape(self.report.problem)}</p>"
        return report_mod.html_table(self.report)

    def require(self, name: str) -> None:
        """Show one check's verdict; raise CheckFailed unless it passed (skipped is not passed)."""
        if self.report.problem:
            raise CheckFailed(f"Grading could not run: {self.report.problem}")
        result = self.report.result(name)
        colour = report_mod.COLOUR[result.status]
        hint = f"<br><i>Hint: {html.escape(result.hint)}</i>" if result.hint else ""
        _display(f"<div><b style='color:{colour}'>{report_mod.MARK[result.status]} {html.escape(result.title)}</b> "
                 f"({result.points:g}/{result.max_points:g}): {html.escape(result.message).replace(chr(10), '<br>')}{hint}</div>")
        if result.status is not Status.PASSED:
            raise CheckFailed(f"{result.title}: {result.message}" + (f"\nHint: {result.hint}" if result.hint else ""))


def grade_lab(lab_id: str, folder: str | Path = ".") -> NotebookReport:
    """Build and run the lab in `folder` and show the verdict. Never raises: a problem is shown instead.

    Only an interruption (the kernel's Interrupt, SIGTERM or SIGHUP when it is shut down) ends the cell, as
    Ctrl-C would, once whatever the run had started was removed.
    """
    for name in ("testcontainers", "docker", "urllib3", "graders"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    progress_id = f"mastery-progress-{lab_id}"
    _display(f"<i>{lab_id}: starting…</i>", display_id=progress_id)

    def progress(message: str, done: bool = False) -> None:
        text = html.escape(message) if done else f"{html.escape(lab_id)}: {html.escape(message)}…"
        _display(f"<i>{text}</i>", display_id=progress_id, update=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            spec = get_lab(lab_id)
            with runs.signals_interrupt():  # a kernel shut down mid-grading cleans up as on "Interrupt"
                report = grade(spec, Path(folder), progress=progress)
        except Interrupted as exc:
            progress(f"{lab_id}: stopped by {exc.signal_name}; whatever the grader had started was removed", done=True)
            raise
        except GraderError as exc:
            report = GradeReport(lab_id=lab_id, lab_title=lab_id, submission=str(folder),
                                 problem=exc.message + (f" {exc.hint}" if exc.hint else ""))
    try:  # kept for `mastery progress` and labs/my-progress.ipynb; grading never fails for it
        progress_record.record(report, folder)
    except Exception:
        log.debug("could not record the progress of %s", lab_id, exc_info=True)
    progress(report_mod.summary(report) if not report.problem else f"{lab_id}: could not grade", done=True)
    result = NotebookReport(report)
    _display(result._repr_html_())
    return result
