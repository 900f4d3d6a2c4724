"""The sections of the course's pages a question may link to: each heading's anchor as MkDocs makes it (an
explicit `{ #id }`, else Python-Markdown's slug of the heading's text). Used by the bank's tests and by
`scripts/check_exam_bank.py`; needs the `markdown` package (a dev dependency, with MkDocs)."""

from __future__ import annotations

import re
from pathlib import Path

from graders.exam.question_bank import Bank
from graders.spec import REPO_ROOT

COURSE = REPO_ROOT / "course"
HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*$")
EXPLICIT = re.compile(r"\{[^}]*#(?P<id>[\w-]+)[^}]*\}\s*$")


def anchors(page: Path) -> set[str]:
    from markdown.extensions.toc import slugify  # type: ignore[import-untyped]

    found, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match is None:
            continue
        text = match["text"]
        explicit = EXPLICIT.search(text)
        if explicit:
            found.add(explicit["id"])
            text = text[:explicit.start()].strip()
        found.add(slugify(re.sub(r"<[^>]+>", "", text.replace("`", "")), "-"))
    return found


def broken_links(bank: Bank, course: Path = COURSE) -> list[str]:
    """Every question's or objective's lesson link that names no page or no section of it."""
    cache: dict[str, set[str]] = {}
    links = [(q.id, q.lesson) for q in bank.questions]
    links += [(o.id, link) for d in bank.domains for o in d.objectives for link in o.lessons]
    problems = []
    for owner, link in links:
        page, _, anchor = link.partition("#")
        if not (course / page).is_file():
            problems.append(f"{owner}: no page {page}")
            continue
        if page not in cache:
            cache[page] = anchors(course / page)
        if not anchor or anchor not in cache[page]:
            problems.append(f"{owner}: {page} has no section #{anchor}")
    return problems
