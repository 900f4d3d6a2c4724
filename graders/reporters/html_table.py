"""The report as an HTML table: JupyterLab shows it under a notebook's check cell, a browser opens the file."""

from __future__ import annotations

import html

from graders.reporters.common import COLOUR, MARK, points, summary
from graders.results import GradeReport


def html_table(report: GradeReport) -> str:
    """One row per check; a fragment, so that a notebook can place it in its own output."""
    rows = []
    for r in report.results:
        hint = f"<div style='color:#0b5394'>Hint: {html.escape(r.hint)}</div>" if r.hint else ""
        message = html.escape(r.message).replace("\n", "<br>")
        rows.append(
            f"<tr><td style='color:{COLOUR[r.status]};font-weight:bold;text-align:left'>{MARK[r.status]} {r.status.value}</td>"
            f"<td style='text-align:left'>{html.escape(r.title)}<br><code>{html.escape(r.name)}</code></td>"
            f"<td style='text-align:right'>{points(r.points)}/{points(r.max_points)}</td>"
            f"<td style='text-align:left'>{message}{hint}</td></tr>")
    return ("<table class='mastery-report'><thead><tr><th style='text-align:left'>Status</th>"
            "<th style='text-align:left'>Check</th><th>Points</th>"
            "<th style='text-align:left'>What the grader saw</th></tr></thead><tbody>" + "".join(rows) +
            f"</tbody><caption style='caption-side:bottom'>{html.escape(summary(report))}</caption></table>")


class HtmlReporter:
    """The notebook's table as a page of its own: it declares UTF-8, so the marks (✔ ✘) survive any browser."""

    name = "html"
    description = "the notebook's HTML table, as a page a browser opens"
    suffix = ".html"

    def render(self, report: GradeReport) -> str:
        title = html.escape(f"{report.lab_title} ({report.lab_id})")
        return (f"<!DOCTYPE html>\n<html lang='en'>\n<head><meta charset='utf-8'><title>{title}</title></head>\n"
                f"<body>\n<h1>{title}</h1>\n{html_table(report)}\n</body>\n</html>\n")
