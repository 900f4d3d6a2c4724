"""What `mastery progress` and labs/my-progress.ipynb show: every lab in the order the course teaches it, the
learner's last verdict on it (graders/progress.py keeps those), and the way back to its notebook and lesson.

Kept apart from the record so that the record needs nothing of the labs, and the lab registry nothing of it.
"""

from __future__ import annotations

import datetime
import html
import os
from collections.abc import Mapping
from dataclasses import dataclass

from graders.course_outline import nav
from graders.labs import all_labs
from graders.progress import Entry, State, load
from graders.reporters.common import points
from graders.spec import REPO_ROOT, LabSpec

DOCS_ENV = "MASTERY_DOCS_URL"
DOCS_URL = "http://127.0.0.1:8008/"  # where `make course` and the compose environment serve the course site
COLOUR = {State.PASSED: "#1b7f3b", State.PARTLY_DONE: "#8a6d00", State.ATTEMPTED: "#b42318", State.NOT_STARTED: "#6b7280"}


@dataclass(frozen=True)
class Row:
    """One lab as the learner stands on it. Score and counts are None until it is first checked."""

    id: str
    title: str
    lesson: str  # the page in course/
    notebook: str  # relative to the labs root, which is JupyterLab's root too
    lesson_url: str  # the lab's section on the course site
    state: State
    score: float | None
    max_score: float  # the last check's (without what its host skipped); the lab's total before any check
    checked_at: str | None  # UTC, ISO 8601
    passed: int | None
    failed: int | None
    skipped: int | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "lesson": self.lesson, "notebook": self.notebook,
                "lesson_url": self.lesson_url, "state": self.state.value, "score": self.score,
                "max_score": self.max_score, "checked_at": self.checked_at, "passed": self.passed,
                "failed": self.failed, "skipped": self.skipped}

    @property
    def score_text(self) -> str:
        return f"{'–' if self.score is None else points(self.score)}/{points(self.max_score)}"

    @property
    def checked_text(self) -> str:
        """When it was last checked, in this machine's time: the learner reads it, not a log."""
        if self.checked_at is None:
            return ""
        return datetime.datetime.fromisoformat(self.checked_at).astimezone().strftime("%Y-%m-%d %H:%M")


def course_order(labs: Mapping[str, LabSpec]) -> list[LabSpec]:
    """The labs as a learner meets them: by their lesson's place in the navigation, then by where the lab's
    section sits on that page; a lab whose lesson or section is not found comes after, by id."""
    pages = [page.path for page in nav(REPO_ROOT / "mkdocs.yml")]  # this module's root: a test may point it elsewhere
    unknown = len(pages)

    def where(spec: LabSpec) -> tuple[int, int, str]:
        page = pages.index(spec.lesson) if spec.lesson in pages else unknown
        try:
            at = (REPO_ROOT / "course" / spec.lesson).read_text(encoding="utf-8").find(f"#lab-{spec.id}")
        except OSError:
            at = -1
        return page, at if at >= 0 else 1 << 30, spec.id

    return sorted(labs.values(), key=where)


def lesson_url(spec: LabSpec, base: str | None = None) -> str:
    """The lab's section on the site, as MkDocs names pages: `first-image.md` is `first-image/`, `index.md` the root."""
    base = base or os.environ.get(DOCS_ENV, "").strip() or DOCS_URL
    page = spec.lesson.removesuffix(".md")
    page = "" if page == "index" else page.removesuffix("/index") + "/"
    return f"{base.rstrip('/')}/{page}#lab-{spec.id}"


def rows(entries: Mapping[str, Entry] | None = None) -> list[Row]:
    """Every lab, with its entry in the record (read now unless given); labs never checked are not started."""
    entries = load() if entries is None else entries
    found = []
    for spec in course_order(all_labs()):
        entry = entries.get(spec.id)
        common = {"id": spec.id, "title": spec.title, "lesson": spec.lesson, "notebook": f"{spec.id}/{spec.id}.ipynb",
                  "lesson_url": lesson_url(spec)}
        if entry is None:
            found.append(Row(**common, state=State.NOT_STARTED, score=None, max_score=spec.total_points,
                             checked_at=None, passed=None, failed=None, skipped=None))
        else:
            found.append(Row(**common, state=entry.state, score=entry.score, max_score=entry.max_score,
                             checked_at=entry.checked_at, passed=entry.passed, failed=entry.failed, skipped=entry.skipped))
    return found


def overview(table: list[Row]) -> str:
    """One line under the table: what is done, what is under way."""
    count = {state: sum(1 for r in table if r.state is state) for state in State}
    return (f"{count[State.PASSED]} of {len(table)} labs passed, {count[State.PARTLY_DONE]} partly done, "
            f"{count[State.ATTEMPTED]} attempted, {count[State.NOT_STARTED]} not started.")


def html_table(table: list[Row]) -> str:
    """The table as the notebook shows it. Links to a notebook are relative to the labs root, so JupyterLab
    (whose root that is) opens them in a tab; a lesson opens on the course site in a new one."""
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("Lab", "Title", "State", "Score", "Last checked", "Lesson"))
    body = []
    for r in table:
        state = f"<span style='color:{COLOUR[r.state]};font-weight:bold'>{html.escape(r.state.value)}</span>"
        body.append(
            "<tr>"
            f"<td style='text-align:left'><a href='{html.escape(r.notebook)}'><code>{html.escape(r.id)}</code></a></td>"
            f"<td style='text-align:left'>{html.escape(r.title)}</td>"
            f"<td style='text-align:left'>{state}</td>"
            f"<td style='text-align:right'>{html.escape(r.score_text)}</td>"
            f"<td style='text-align:left'>{html.escape(r.checked_text)}</td>"
            f"<td style='text-align:left'><a href='{html.escape(r.lesson_url)}' target='_blank' rel='noopener'>lesson</a></td>"
            "</tr>")
    return (f"<table class='mastery-progress'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p>{html.escape(overview(table))}</p>")


def show() -> None:
    """Display the table in a notebook (the cell of labs/my-progress.ipynb); outside IPython, print its HTML."""
    markup = html_table(rows())
    try:
        from IPython.display import HTML, display
    except ImportError:
        print(markup)
        return
    display(HTML(markup))  # type: ignore[no-untyped-call]
