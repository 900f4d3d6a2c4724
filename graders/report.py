"""Ways to show a GradeReport: a terminal table, Gradescope's results.json, and HTML for JupyterLab."""

from __future__ import annotations

import html
from typing import Any

from rich.table import Table
from rich.text import Text

from graders.results import GradeReport, Status

MARK = {Status.PASSED: "✔", Status.FAILED: "✘", Status.SKIPPED: "–", Status.ERROR: "!"}
STYLE = {Status.PASSED: "green", Status.FAILED: "red", Status.SKIPPED: "yellow", Status.ERROR: "magenta"}
COLOUR = {Status.PASSED: "#1b7f3b", Status.FAILED: "#b42318", Status.SKIPPED: "#8a6d00", Status.ERROR: "#7a2e8e"}


def _points(value: float) -> str:
    return f"{value:g}"


def summary(report: GradeReport) -> str:
    line = f"{report.lab_id}: {_points(report.score)}/{_points(report.max_score)} points in {report.seconds:.1f} s"
    if report.skipped_points:
        line += f" ({_points(report.skipped_points)} points skipped on this host, not counted)"
    if report.grader_failed:
        line += (f"; the grader itself failed on {report.errors} check{'s' if report.errors != 1 else ''} "
                 "(marked error): not a verdict on your work, grade again")
    return line


def rich_table(report: GradeReport) -> Table:
    table = Table(title=f"{report.lab_title} ({report.lab_id})", show_lines=True, expand=False)
    table.add_column("", width=1)
    table.add_column("Check")
    table.add_column("Points", justify="right")
    table.add_column("What the grader saw")
    for r in report.results:
        detail = Text(r.message)
        if r.hint:
            detail.append(f"\nHint: {r.hint}", style="cyan")
        table.add_row(Text(MARK[r.status], style=STYLE[r.status]), f"{r.title}\n[dim]{r.name}[/dim]",
                      f"{_points(r.points)}/{_points(r.max_points)}", detail)
    table.caption = summary(report)
    return table


def gradescope(report: GradeReport) -> dict[str, Any]:
    """Gradescope's results.json. Skipped checks are listed with their reason and add nothing to max_score."""
    tests = []
    for r in report.results:
        output = r.message + (f"\nHint: {r.hint}" if r.hint else "")
        entry: dict[str, Any] = {"name": r.title, "score": r.points, "max_score": r.max_points,
                                 "output": output, "tags": list(r.all_tags)}
        if r.status is Status.SKIPPED:
            # Gradescope knows only passed/failed; a skipped check is neither, so it carries no status.
            entry.update(max_score=0, output=f"Skipped: {output}", tags=[*r.all_tags, "skipped"])
        elif r.status is Status.ERROR:
            entry.update(status="failed", output=f"Grader error: {output}")
        else:
            entry["status"] = r.status.value
        entry["name_id"] = r.name
        tests.append(entry)
    return {"score": report.score, "max_score": report.max_score, "execution_time": round(report.seconds, 2),
            "output": summary(report), "tests": tests}


def html_table(report: GradeReport) -> str:
    rows = []
    for r in report.results:
        hint = f"<div style='color:#0b5394'>Hint: {html.escape(r.hint)}</div>" if r.hint else ""
        message = html.escape(r.message).replace("\n", "<br>")
        rows.append(
            f"<tr><td style='color:{COLOUR[r.status]};font-weight:bold;text-align:left'>{MARK[r.status]} {r.status.value}</td>"
            f"<td style='text-align:left'>{html.escape(r.title)}<br><code>{r.name}</code></td>"
            f"<td style='text-align:right'>{_points(r.points)}/{_points(r.max_points)}</td>"
            f"<td style='text-align:left'>{message}{hint}</td></tr>")
    return ("<table class='mastery-report'><thead><tr><th style='text-align:left'>Status</th>"
            "<th style='text-align:left'>Check</th><th>Points</th>"
            "<th style='text-align:left'>What the grader saw</th></tr></thead><tbody>" + "".join(rows) +
            f"</tbody><caption style='caption-side:bottom'>{html.escape(summary(report))}</caption></table>")
