"""Every lab is complete: lesson, notebook with one graded cell per check, spec, solution, broken variants."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from graders.labs import all_labs
from graders.spec import REPO_ROOT, LabSpec
from graders.submission import materialize, variants

LABS = list(all_labs().values())
STRETCH = "## Stretch task (not graded)"


def graded_cells(spec: LabSpec) -> dict[str, tuple[float, str]]:
    notebook = json.loads((spec.starter_dir / f"{spec.id}.ipynb").read_text())
    cells = {}
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            cells[meta["grade_id"]] = (meta["points"], "".join(cell["source"]))
    return cells


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.id)
def test_lab_has_every_part(spec: LabSpec) -> None:
    assert (REPO_ROOT / "course" / spec.lesson).is_file(), f"lesson page {spec.lesson} is missing"
    assert (spec.starter_dir / f"{spec.id}.ipynb").is_file()
    assert spec.solution_dir.is_dir() and any(spec.solution_dir.iterdir())
    for name in spec.files:
        assert (spec.starter_dir / name).is_file(), f"starter {name} missing"
    assert not (spec.starter_dir / "solution").exists(), "solutions must not live where learners browse"


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.id)
def test_notebook_has_one_graded_cell_per_check_with_its_points(spec: LabSpec) -> None:
    cells = graded_cells(spec)
    assert set(cells) == {f"check-{c.name}" for c in spec.checks}
    for check in spec.checks:
        points, source = cells[f"check-{check.name}"]
        assert points == check.points
        assert f'report.require("{check.name}")' in source


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.id)
def test_every_check_is_broken_by_some_variant(spec: LabSpec) -> None:
    names = {c.name for c in spec.checks}
    broken: set[str] = set()
    for variant in variants(spec):
        assert variant.fails <= names, f"{variant.name} names unknown checks {variant.fails - names}"
        assert variant.description
        broken |= variant.fails
    assert broken == names, f"no broken variant proves {names - broken}"


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.id)
def test_variants_apply_to_the_solution(spec: LabSpec, tmp_path: Path) -> None:
    solution = materialize(spec, into=tmp_path / "solution")
    for variant in variants(spec):
        folder = materialize(spec, variant, into=tmp_path / variant.name)
        changed = [p.name for p in folder.rglob("*") if p.is_file()
                   and (not (solution / p.relative_to(folder)).exists()
                        or (solution / p.relative_to(folder)).read_bytes() != p.read_bytes())]
        assert changed or variant.delete, f"variant {variant.name} changes nothing"


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.id)
def test_every_lab_notebook_ends_with_a_stretch_task(spec: LabSpec) -> None:
    """The last cell a lab's notebook.md gives is an open, ungraded stretch task: in the notebook, only the
    generated grading cells come after it."""
    source = (spec.folder / "notebook.md").read_text(encoding="utf-8")
    parts = [part.strip() for part in re.split(r"<!-- (?:cell|code) -->", source)]
    assert parts[-1].startswith(STRETCH), f"{spec.folder.name}/notebook.md must end with a cell that starts with {STRETCH!r}"
    notebook = nbformat.read(spec.starter_dir / f"{spec.id}.ipynb", as_version=4)
    stretch = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown" and cell.source.startswith(STRETCH)]
    regenerate = f"run scripts/make_lab_notebook.py {spec.id}"
    assert len(stretch) == 1, f"{spec.id}.ipynb needs exactly one stretch-task cell: {regenerate}"
    cell = notebook.cells[stretch[0]]
    assert cell.source == parts[-1], f"{spec.id}.ipynb's stretch task differs from notebook.md's: {regenerate}"
    assert not cell.metadata["nbgrader"]["grade"], "the stretch task is not graded"
    own = [i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown" and c.source in parts]
    assert own[-1] == stretch[0], f"{spec.id}.ipynb has notebook.md's text after its stretch task: {regenerate}"
    later = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells[stretch[0] + 1:]
             if c.cell_type == "markdown"}
    assert later <= {"check-intro", "checks-intro"}, f"{spec.id}.ipynb has markdown after its stretch task: {later}"
