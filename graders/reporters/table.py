"""The terminal table `mastery check` prints, and the same table as plain text for a file."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from graders.reporters.common import MARK, STYLE, points, summary, visible_controls
from graders.results import GradeReport

FILE_WIDTH = 120  # a file has no terminal to measure; wide enough that messages wrap rarely


def rich_table(report: GradeReport) -> Table:
    """The table object itself: the terminal prints it with colour, `TableReporter` exports it as text."""
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
                      f"{points(r.points)}/{points(r.max_points)}", detail)
    table.caption = summary(report)
    return table


class TableReporter:
    """The terminal table as text: no colour codes, so a file or a CI log shows it as the terminal did."""

    name = "table"
    description = "the table `mastery check` prints (plain text when written to a file)"
    suffix = ".txt"

    def render(self, report: GradeReport) -> str:
        console = Console(file=io.StringIO(), record=True, width=FILE_WIDTH, color_system=None,
                          force_terminal=False, force_jupyter=False, force_interactive=False)
        printable = dataclasses.replace(report, results=[
            dataclasses.replace(r, message=visible_controls(r.message), hint=visible_controls(r.hint))
            for r in report.results])
        console.print(rich_table(printable))
        return console.export_text(styles=False)
