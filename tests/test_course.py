"""The course as a whole: every part of the outline maps to a page, every lesson has the parts a learner
relies on, and every lesson links its labs (labs not built yet are named, and listed here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from graders.labs import all_labs
from graders.spec import REPO_ROOT

COURSE = REPO_ROOT / "course"

# The outline's sections, in its order (../shared/curriculum-source.md): each must be taught somewhere.
OUTLINE = [
    "Why Docker Matters for Data Scientists",
    "Part 1: Docker Fundamentals",
    "Part 2: Building Your First Data Science Container",
    "Part 3: Essential Docker Commands for Data Scientists",
    "Part 4: Data Science Docker Workflows",
    "Part 5: Docker Compose for Multi-Container Applications",
    "Part 6: Kubernetes for Production Deployment",
    "Part 7: Security Best Practices",
    "Part 8: CI/CD with Docker",
    "Part 9: Performance Optimization",
    "Part 10: Advanced Docker Patterns",
    "Part 11: Career Path to Docker Pro",
    "Pro Tips for Docker Mastery",
    "Essential Resources",
    "Final Project: Complete ML Pipeline",
]

# Labs that lessons name but that are not built yet. A lab built since must leave this list; a lesson
# naming a lab that is neither built nor listed here fails, so no lab is forgotten.
PENDING_LABS: set[str] = set()
LEVELS = {"beginner", "intermediate", "advanced", "all levels"}


def front_matter(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    return yaml.safe_load(match.group(1)) if match else {}


def nav_pages() -> list[Path]:
    config = yaml.load((REPO_ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def walk(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [p for item in node for p in walk(item)]
        if isinstance(node, dict):
            return [p for value in node.values() for p in walk(value)]
        return []

    return [COURSE / p for p in walk(config["nav"])]


PAGES = nav_pages()
LESSONS = [p for p in PAGES if "labs" in front_matter(p)]


def test_every_outline_part_maps_to_a_page() -> None:
    taught: dict[str, list[str]] = {part: [] for part in OUTLINE}
    for page in PAGES:
        for part in front_matter(page).get("outline", []) or []:  # type: ignore[union-attr]
            assert part in taught, f"{page.name} names an outline part that does not exist: {part!r}"
            taught[part].append(page.name)
    missing = [part for part, pages in taught.items() if not pages]
    assert not missing, f"outline parts no page teaches: {missing}"
    print("\n".join(f"{part} -> {', '.join(pages)}" for part, pages in taught.items()))


def test_outline_list_matches_the_outline_file() -> None:
    outline = REPO_ROOT.parent / "shared" / "curriculum-source.md"
    if not outline.exists():
        pytest.skip("the outline is not beside this checkout (../shared/curriculum-source.md)")
    headings = [re.sub(r"^[^A-Za-z]+", "", h).strip() for h in re.findall(r"^## (.+)$", outline.read_text(), re.M)]
    assert [h for h in headings if h != "Overview"] == OUTLINE


def test_every_nav_page_exists_and_every_page_is_in_the_nav() -> None:
    for page in PAGES:
        assert page.is_file(), f"{page} is in the navigation but missing"
    on_disk = {p for p in COURSE.rglob("*.md") if "samples" not in p.parts}
    assert on_disk == set(PAGES), f"pages outside the navigation: {on_disk - set(PAGES)}"


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: str(p.relative_to(COURSE)))
def test_lesson_has_every_part(page: Path) -> None:
    meta = front_matter(page)
    text = page.read_text(encoding="utf-8")
    assert meta.get("level") in LEVELS, f"level must be one of {LEVELS}"
    assert re.match(r"\d+ minutes", str(meta.get("time", ""))), "time estimate like '45 minutes'"
    assert meta.get("outline"), "which part of the outline this lesson teaches"
    for heading in ("## What you will be able to do", "## Common mistakes"):
        assert heading in text, f"missing {heading!r}"
    assert len(re.findall(r'^\?\?\? question "', text, re.M)) >= 3, "at least three self-check questions"
    assert "```" in text, "a worked example"


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: str(p.relative_to(COURSE)))
def test_lesson_links_its_labs(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    labs = front_matter(page)["labs"]
    assert labs, "every lesson has a lab"
    for lab in labs:  # type: ignore[attr-defined]
        assert f"mastery check {lab}" in text, f"{page.name} must show `mastery check {lab}`"
        assert f"labs/{lab}/{lab}.ipynb" in text, f"{page.name} must name the notebook of {lab}"
        if lab not in all_labs():
            assert re.search(rf"Lab `{lab}`[^\n]*\(coming\)", text), f"{lab} is not built yet: say it is coming"


def test_pending_labs_are_exactly_the_unbuilt_ones() -> None:
    named = {lab for page in LESSONS for lab in front_matter(page)["labs"]}  # type: ignore[attr-defined]
    built = set(all_labs())
    assert built <= named, f"labs without a lesson: {built - named}"
    assert named - built == PENDING_LABS, "update PENDING_LABS: it lists the labs lessons promise but do not have yet"
    from conftest import FIGURES

    FIGURES["labs lessons promise, not built yet"] = ", ".join(sorted(PENDING_LABS)) or "none"


def test_one_version_of_each_package_across_samples_labs_and_solutions() -> None:
    """A learner who copies a sample into a lab must not meet two numpys: every requirements file the course
    ships pins each package to the same version."""
    pins: dict[str, dict[str, list[str]]] = {}
    roots = [REPO_ROOT / "course", REPO_ROOT / "labs", REPO_ROOT / "graders" / "labs", REPO_ROOT / "environment"]
    for path in [p for root in roots for p in root.rglob("requirements*.txt")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"\s*([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*==\s*([^\s;#]+)", line)
            if match:
                name = match[1].lower().replace("_", "-")
                pins.setdefault(name, {}).setdefault(match[2], []).append(str(path.relative_to(REPO_ROOT)))
    split = {name: versions for name, versions in pins.items() if len(versions) > 1}
    assert not split, f"one version per package: {split}"
    assert "numpy" in pins and "scikit-learn" in pins  # the scan found the course's files
