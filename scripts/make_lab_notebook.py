"""Write a lab's nbgrader source notebook: the lab's own markdown, then the grading cell and one
autograded cell per check, with the check's points (tests/test_sync.py keeps the two in step).

    .venv/bin/python scripts/make_lab_notebook.py LAB

The markdown comes from graders/labs/<lab>/notebook.md; a line `<!-- cell -->` starts a new cell.
"""

from __future__ import annotations

import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from graders.labs import get_lab


def meta(grade_id: str, points: float | None = None) -> dict[str, object]:
    nb: dict[str, object] = {"grade": points is not None, "grade_id": grade_id, "locked": True,
                             "schema_version": 3, "solution": False, "task": False}
    if points is not None:
        nb["points"] = points
    return {"nbgrader": nb}


def main(lab_id: str) -> None:
    spec = get_lab(lab_id)
    text = (spec.folder / "notebook.md").read_text(encoding="utf-8")
    cells = [new_markdown_cell(part.strip(), metadata=meta(f"intro-{i}"))
             for i, part in enumerate(text.split("<!-- cell -->"))]
    cells.append(new_markdown_cell(
        "## Check your work\n\nRun the next cell. The grader builds your files on the Docker Engine, runs the result "
        "with limits (memory, processes, no privileges), checks it, and removes everything it made. The first build "
        "downloads the Python packages; later checks reuse the cache.\n\n"
        f"The same check runs in a terminal: `mastery check {spec.id}`.", metadata=meta("check-intro")))
    cells.append(new_code_cell(f'from graders.notebook import grade_lab\n\nreport = grade_lab("{spec.id}")'
                               "  # builds what is in this folder and shows a verdict per check",
                               metadata=meta("grade-run")))
    cells.append(new_markdown_cell("Each cell below is one check; it passes when the check passed above.",
                                   metadata=meta("checks-intro")))
    for check in spec.checks:
        cells.append(new_code_cell(f'report.require("{check.name}")  # {check.title}',
                                   metadata=meta(f"check-{check.name}", check.points)))
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    nbformat.write(notebook, spec.starter_dir / f"{spec.id}.ipynb")


if __name__ == "__main__":
    main(sys.argv[1])
