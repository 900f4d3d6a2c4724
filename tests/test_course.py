"""The course as a whole: every part of the outline maps to a page, every lesson has the parts a learner
relies on, and every lesson links its labs (labs not built yet are named, and listed here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graders.course_outline import front_matter, nav
from graders.images import MLFLOW_VERSION
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


PAGES = [COURSE / page.path for page in nav()]
LESSONS = [COURSE / page.path for page in nav() if page.is_lesson]


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


def test_one_order_everywhere_and_security_before_kubernetes() -> None:
    """The home page writes its module table and diagram from the navigation instead of by hand, and the labs'
    order (`mastery progress`, the home page's lab table) follows the same pages."""
    from graders.progress_table import course_order

    home = (COURSE / "index.md").read_text(encoding="utf-8")
    assert "<!-- modules-table -->" in home and "<!-- modules-diagram -->" in home
    assert "```mermaid" not in home and "| # | Module" not in home, "a hand-written copy of the order can drift"
    order = [page.path for page in nav() if page.is_lesson]
    assert order.index("security.md") < order.index("kubernetes.md") and order.index("security.md") < order.index("swarm.md")
    lab_pages = [spec.lesson for spec in course_order(all_labs())]
    assert lab_pages == sorted(lab_pages, key=order.index), "labs out of the lessons' order"
    for page in nav():
        if page.is_lesson:
            assert page.meta.get("summary"), f"{page.path}: the home page's table needs a `summary:` in its front matter"


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: str(p.relative_to(COURSE)))
def test_lesson_has_a_predict_and_a_fix_this_exercise(page: Path) -> None:
    """Active practice besides recall: before "Check yourself", a Predict (with its answer folded away) and a Fix this
    whose broken file is a `wrong-*` sample (tests/test_samples.py proves it fails as the answer says)."""
    text = page.read_text(encoding="utf-8")
    assert "## Practice: predict, then fix" in text, "missing the section `## Practice: predict, then fix`"
    section = text.split("## Practice: predict, then fix", 1)[1].split("\n## ", 1)[0]
    assert text.index("## Practice: predict, then fix") < text.index("## Check yourself"), "practice comes before the quiz"
    assert "**Predict.**" in section and "**Fix this.**" in section, "one Predict and one Fix this at least"
    assert section.count('??? success "Answer"') >= 2, "each exercise has its answer, folded"
    assert re.search(r'--8<-- "course/samples/[^"]+/wrong-[^"]+"', section), "the Fix this shows a wrong-* sample"


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
    # Packages installed in a Dockerfile's own `pip install` line (torch in the GPU image) count too.
    for path in [p for root in roots for p in root.rglob("*Dockerfile")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "pip install" in line or line.lstrip().startswith(("torch", "&&", "\\")):
                for name, version in re.findall(r"(?<![\w.-])([A-Za-z][A-Za-z0-9_.-]*)==([0-9][^\s\"'\\]*)", line):
                    pins.setdefault(name.lower().replace("_", "-"), {}).setdefault(version, []).append(
                        str(path.relative_to(REPO_ROOT)))
    split = {name: versions for name, versions in pins.items() if len(versions) > 1}
    assert not split, f"one version per package: {split}"
    assert "numpy" in pins and "scikit-learn" in pins and "torch" in pins  # the scan found the course's files


def test_one_mlflow_across_images_clients_and_pages() -> None:
    """MLflow's server image, the mlflow-skinny client the labs pin and the version the pages name agree, so a
    client never talks to a server of another release."""
    roots = [REPO_ROOT / "course", REPO_ROOT / "labs", REPO_ROOT / "graders", REPO_ROOT / "environment"]
    tags = {(str(path.relative_to(REPO_ROOT)), tag) for root in roots for path in root.rglob("*")
            if path.is_file() and path.suffix in {".yaml", ".yml", ".py", ".md", ""} and "__pycache__" not in path.parts
            for tag in re.findall(r"ghcr\.io/mlflow/mlflow:v([0-9][\w.]*)", path.read_text(errors="replace"))}
    assert tags, "no MLflow image found"
    assert {tag for _, tag in tags} == {MLFLOW_VERSION}, sorted(tags)
    clients = {line.split("==")[1].strip() for path in REPO_ROOT.glob("labs/**/requirements*.txt")
               for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("mlflow-skinny==")}
    assert clients == {MLFLOW_VERSION}, clients
    named = re.findall(r"`(v3\.\d+\.\d+)`", (COURSE / "compose.md").read_text(encoding="utf-8"))
    assert named == [f"v{MLFLOW_VERSION}"], named


def test_the_readmes_table_of_labs_is_every_lab_in_course_order_under_its_lessons_name() -> None:
    """The README describes each lab by hand (what is handed in, what is checked); which labs there are, their order
    and their lessons come from the lab registry and the navigation, so a moved or renamed lesson shows here."""
    from graders.progress_table import course_order

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## The labs\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w-]+)` \| ([^|]+?) \|", section, re.M)
    titles = {page.path: page.title for page in nav()}
    assert rows == [(spec.id, titles[spec.lesson]) for spec in course_order(all_labs())]


def test_the_glossary_is_in_order_and_names_the_exams_old_product_names() -> None:
    """Each section's terms in alphabetical order (a leading dot ignored), each pointing to where it is taught; the
    study guide's old product names are there, since a learner meets them in the exam."""
    text = (COURSE / "reference" / "glossary.md").read_text(encoding="utf-8")
    for section in text.split("\n## ")[1:]:
        entries = section.split("\n### ")[1:]
        terms = [entry.splitlines()[0].lstrip(".").lower() for entry in entries]
        assert terms == sorted(terms), terms
        unlinked = [entry.splitlines()[0] for entry in entries if "](" not in entry]
        assert not unlinked, f"glossary entries with no link to a lesson: {unlinked}"
    for old in ("Docker EE", "DTR", "UCP"):
        assert f"\n### {old}" in text, old
