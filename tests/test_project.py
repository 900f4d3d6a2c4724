"""The course project (course/project.md): one set of data and one model core that the lessons' worked examples
share, so a step's numbers are the next step's; and a page whose steps follow the course's order."""

from __future__ import annotations

import re
import subprocess
import sys

from project_core import as_flask_prints, project_calls

from graders.course_outline import nav
from graders.spec import REPO_ROOT

SAMPLES = REPO_ROOT / "course" / "samples"
PROJECT = SAMPLES / "project"
PAGE = REPO_ROOT / "course" / "project.md"
SHARED = ("forecast.py", "readings.csv")  # copied, never edited, into a lesson's folder


def test_every_copy_of_the_project_core_is_the_projects_own() -> None:
    copies = [path for name in SHARED for path in SAMPLES.rglob(name) if path.parent != PROJECT]
    differ = [str(path.relative_to(REPO_ROOT)) for path in copies
              if path.read_bytes() != (PROJECT / path.name).read_bytes()]
    assert not differ, f"copies of the project's files that differ from course/samples/project: {differ}"


def test_the_readings_are_what_their_script_makes() -> None:
    made = subprocess.run([sys.executable, "make_readings.py"], cwd=PROJECT, capture_output=True, text=True,
                          timeout=30, check=True).stdout
    assert made == (PROJECT / "readings.csv").read_text(encoding="utf-8")
    assert made.count("\n") == 91 and made.startswith("station,day,temperature\n")


def test_the_page_quotes_the_answers_the_api_gives() -> None:
    """The answers the sample test checks (samples.toml `http.calls`) are the ones the page shows, as Flask prints
    them: compact, keys sorted."""
    page = PAGE.read_text(encoding="utf-8")
    calls = project_calls()
    shown = as_flask_prints(calls[0]["answer"])
    assert shown in page
    assert calls[1]["answer"]["error"].replace("'valley']", "") in re.sub(r"\s*\n\s*", " ", page)


def test_the_steps_follow_the_course_order_and_name_each_lesson_once() -> None:
    page = PAGE.read_text(encoding="utf-8")
    table = page.split("<!-- project-steps -->", 1)[1]
    rows = re.findall(r"^\| (\d+) \| \[[^\]]+\]\(([\w/-]+\.md)#[\w-]+\) \|", table, re.M)
    assert rows, "no steps in the table"
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1))
    order = [page.path for page in nav()]
    linked = [path for _, path in rows]
    assert len(set(linked)) == len(linked)
    assert linked == sorted(linked, key=order.index), "the steps must follow the navigation's order"
