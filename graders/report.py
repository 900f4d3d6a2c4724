"""The names the rest of the code has always imported (the notebook, older scripts); the formats themselves
live in graders.reporters, one module each."""

from __future__ import annotations

from graders.reporters import COLOUR, MARK, STYLE, html_table, rich_table, summary
from graders.reporters.gradescope import results_json as gradescope

__all__ = ["COLOUR", "MARK", "STYLE", "gradescope", "html_table", "rich_table", "summary"]
