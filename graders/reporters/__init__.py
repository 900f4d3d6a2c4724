"""Ways to show a GradeReport, by name: `mastery check --format NAME` picks one.

Each format is a small module with a reporter (name, description, file suffix, `render(report) -> str`);
REPORTERS lists them in the order `--help` shows them. Adding a format is one module and one line here.
"""

from __future__ import annotations

from typing import Protocol

from graders.errors import UsageError
from graders.reporters.common import COLOUR, MARK, STYLE, summary
from graders.reporters.gradescope import GradescopeReporter, results_json
from graders.reporters.html_table import HtmlReporter, html_table
from graders.reporters.json_report import JsonReporter, report_json
from graders.reporters.junit import JUnitReporter, junit_xml
from graders.reporters.table import TableReporter, rich_table
from graders.results import GradeReport

__all__ = ["COLOUR", "MARK", "REPORTERS", "STYLE", "Reporter", "get_reporter", "html_table", "junit_xml",
           "report_json", "results_json", "rich_table", "summary"]


class Reporter(Protocol):
    """One output format. Read-only members, so a class attribute or a property both satisfy it."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str:
        """One line for `--help` and error messages."""
        ...

    @property
    def suffix(self) -> str:
        """The file suffix a report in this format usually has, with its dot: `.xml`."""
        ...

    def render(self, report: GradeReport) -> str: ...


def _registry(*reporters: Reporter) -> dict[str, Reporter]:
    return {r.name: r for r in reporters}


REPORTERS: dict[str, Reporter] = _registry(TableReporter(), GradescopeReporter(), JUnitReporter(), HtmlReporter(),
                                           JsonReporter())


def get_reporter(name: str) -> Reporter:
    """The reporter called `name`; a UsageError naming the known ones otherwise (the CLI turns it into exit 2)."""
    try:
        return REPORTERS[name]
    except KeyError:
        raise UsageError(f"There is no report format {name!r}; the formats are {', '.join(REPORTERS)}.") from None
