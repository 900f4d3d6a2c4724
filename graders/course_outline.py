"""The course's order, read from one place: the site's navigation (mkdocs.yml) and each lesson's front matter.

The home page's module table and diagram, the order of labs in `mastery progress`, and the tests all read it
here, so moving a lesson in the navigation moves it everywhere."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from graders.spec import REPO_ROOT

COURSE = REPO_ROOT / "course"
MODULES_TABLE = "<!-- modules-table -->"
MODULES_DIAGRAM = "<!-- modules-diagram -->"


@dataclass(frozen=True)
class NavPage:
    """One page of the navigation: its title there, its path under course/, and the section holding it."""

    title: str
    path: str
    section: str

    @functools.cached_property
    def meta(self) -> dict[str, object]:
        """The page's front matter, read when asked: ordering labs needs only the paths."""
        return front_matter(COURSE / self.path)

    @property
    def is_lesson(self) -> bool:
        """Lessons are the pages with labs in their front matter; the rest (exam, glossary...) are references."""
        return bool(self.meta.get("labs"))


def front_matter(path: Path) -> dict[str, object]:
    """The YAML between the page's opening `---` lines, or nothing when it has none or cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    loaded = yaml.safe_load(match.group(1)) if match else None
    return loaded if isinstance(loaded, dict) else {}


def nav(config: Path = REPO_ROOT / "mkdocs.yml") -> list[NavPage]:
    """Every page in the navigation's order; none when the checkout has no site."""
    try:
        loaded = yaml.load(config.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except (OSError, yaml.YAMLError):
        return []
    found: list[NavPage] = []

    def walk(node: object, title: str, section: str) -> None:
        if isinstance(node, str):
            found.append(NavPage(title or node, node, section))
        elif isinstance(node, list):
            for item in node:
                walk(item, "", section)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, key, key if isinstance(value, list) else section)

    walk(loaded.get("nav", []) if isinstance(loaded, dict) else [], "", "")
    return found


def lessons() -> list[NavPage]:
    return [page for page in nav() if page.is_lesson]


def _relative(path: str, from_page: str) -> str:
    """A link to course/PATH written on course/FROM_PAGE."""
    depth = from_page.count("/")
    return "../" * depth + path


def modules_table(from_page: str = "index.md") -> str:
    """The home page's table of lessons: number, title, what it teaches (front matter `summary`), level, time, labs."""
    rows = ["| # | Module | What you will learn | Level | Time | Lab |", "| --- | --- | --- | --- | --- | --- |"]
    for number, page in enumerate(lessons(), 1):
        labs = ", ".join(f"`{lab}`" for lab in page.meta.get("labs") or [])  # type: ignore[attr-defined]
        rows.append(f"| {number} | [{page.title}]({_relative(page.path, from_page)}) | {page.meta.get('summary', '')} | "
                    f"{page.meta.get('level', '')} | {page.meta.get('time', '')} | {labs} |")
    return "\n".join(rows)


def modules_diagram() -> str:
    """A Mermaid flowchart of the lessons: one column per navigation section, left to right, each column's lessons
    top to bottom. The arrows join sections, not lessons, so that Mermaid keeps each column's own direction."""
    out = ["```mermaid", "flowchart LR"]
    sections: dict[str, list[tuple[int, NavPage]]] = {}
    for number, page in enumerate(lessons(), 1):
        sections.setdefault(page.section, []).append((number, page))
    names = []
    for index, (section, pages) in enumerate(sections.items(), 1):
        names.append(f"S{index}")
        out += [f'  subgraph S{index}["{section}"]', "    direction TB"]
        out += [f'    L{number}["{number}. {_label(page.title)}"]' for number, page in pages]
        if len(pages) > 1:
            out.append("    " + " --> ".join(f"L{number}" for number, _ in pages))
        out.append("  end")
    if len(names) > 1:
        out.append("  " + " --> ".join(names))
    out.append("```")
    return "\n".join(out)


def _label(title: str) -> str:
    """A title as a Mermaid label: the part before a colon, without quotes that would end the label."""
    return title.split(":", 1)[0].replace('"', "'")
