"""Write a lab's nbgrader source notebook: the lab's own markdown, then the grading cell and one
autograded cell per check, with the check's points (tests/test_sync.py keeps the two in step).

    .venv/bin/python scripts/make_lab_notebook.py LAB

The markdown comes from graders/labs/<lab>/notebook.md; a line `<!-- cell -->` starts a new markdown cell, and
`<!-- code -->` a code cell (the learner runs it; a practice exam's cell, say).
"""

from __future__ import annotations

import re
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


# What the check cell does, for a kind of lab that neither builds nor runs anything (the default text says it does).
CHECKED = {"manifest": ("Run the next cell. The grader reads every manifest you wrote, validates it against the Kubernetes "
                        "schemas and checks what a cluster would only tell you later; it builds and runs nothing. Where a "
                        "cluster answers (a kubeconfig and `kubectl`), it also applies them in a namespace of its own and "
                        "deletes that namespace afterwards; elsewhere that check is skipped, with the reason.",
                        "reads the manifests in this folder"),
           "workflow": ("Run the next cell. The grader reads your workflow and validates it against GitHub's schema. "
                        "It runs none of your shell: it builds the image its build steps describe, with its own "
                        "builder and limits, runs its `docker run` test steps in that image without network or "
                        "mounts, records the pushes without pushing, and removes everything it made.",
                        "reads the workflow and carries out its build and test steps"),
           "swarm-stack": ("Run the next cell. The grader builds your Dockerfile, makes a swarm of one node of its own in "
                           "the course engine, deploys your stack there under a name of its own, checks it, rolls out a "
                           "second version and then one that cannot start, and at the end removes the stack, leaves the "
                           "swarm and removes the images it built. Your engine must not be in a swarm when you run it.",
                           "deploys your stack in a swarm of its own"),
           "exam-attempt": ("Run the next cell. The grader reads mock-exam.json, draws the questions of its seed again "
                            "from the question bank, and scores the answers it records: the mock exam must be whole "
                            "(answered to the end, or the time ran out), and each domain needs 70% or more.",
                            "scores the mock exam recorded in mock-exam.json"),
           "daemon-config": ("Run the next cell. The grader reads daemon.json as dockerd reads it, and asks the course "
                             "engine's own dockerd (`dockerd --validate`, in a throwaway container with no network) "
                             "whether an engine would start with it. Nothing is installed and no engine is restarted.",
                             "reads daemon.json and has dockerd validate it"),
           "engine-state": ("Run the next cell. The grader looks at the containers in your Docker Engine by the names "
                            "and the label the task gives, and reads the files you saved in this folder. It only looks: "
                            "it starts, stops and removes nothing, and makes nothing of its own.",
                            "looks at your containers and files"),
           # An engine-state lab whose checks send traffic: its probes are the grader's own containers.
           "networking": ("Run the next cell. The grader looks at your networks and containers by the names and the "
                          "label the task gives, and starts short-lived probe containers of its own on your networks to "
                          "resolve names and open connections; it removes them at once. It starts, stops, changes and "
                          "removes nothing of yours.", "looks at your networks and probes them"),
           # An engine-state lab that reads volumes: its helper is the grader's own container, never started.
           "essential-commands": ("Run the next cell. The grader looks at your volumes, network and containers by the "
                                  "names and the label the task gives, and reads the files you saved in this folder. To "
                                  "see what a volume holds it creates a helper container of its own that mounts the "
                                  "volume read-only (never started, no network), copies the files out and removes it at "
                                  "once. It starts, stops, changes and removes nothing of yours.",
                                  "looks at your volumes, containers and files"),
           "storage": ("Run the next cell. The grader looks at your volumes and the container `sto-train` by the "
                       "names and the label the task gives, asks the engine for its storage driver, and reads "
                       "storage.txt. To see what a volume holds it creates a helper container of its own that mounts "
                       "the volume read-only (never started, no network), copies the files out and removes it at "
                       "once. It starts, stops, changes and removes nothing of yours.",
                       "looks at your volumes, container and files"),
           # An engine-state lab that reads a registry's HTTP API as well as the engine.
           "registry": ("Run the next cell. The grader looks at your registry container by the name and the label the "
                        "task gives, reads the registry's API (its catalog, the tags and the manifest digest of "
                        "`1.0.0`) and the files in this folder. It only reads: it pushes, pulls, deletes and changes "
                        "nothing.", "looks at your registry and files")}


def main(lab_id: str) -> None:
    spec = get_lab(lab_id)
    text = (spec.folder / "notebook.md").read_text(encoding="utf-8")
    parts = re.split(r"<!-- (cell|code) -->", text)  # [text, marker, text, marker, text, ...]
    cells = [new_markdown_cell(parts[0].strip(), metadata=meta("intro-0"))]
    for i, (marker, part) in enumerate(zip(parts[1::2], parts[2::2], strict=True), 1):
        make = new_code_cell if marker == "code" else new_markdown_cell
        cells.append(make(part.strip(), metadata=meta(f"intro-{i}")))
    how, does = CHECKED.get(spec.id) or CHECKED.get(spec.kind, (
        "Run the next cell. The grader builds your files on the Docker Engine, runs the result "
        "with limits (memory, processes, no privileges), checks it, and removes everything it made. The first build "
        "downloads the Python packages; later checks reuse the cache.", "builds what is in this folder"))
    cells.append(new_markdown_cell(
        f"## Check your work\n\n{how}\n\n"
        f"The same check runs in a terminal: `mastery check {spec.id}`.", metadata=meta("check-intro")))
    cells.append(new_code_cell(f'from graders.notebook import grade_lab\n\nreport = grade_lab("{spec.id}")'
                               f"  # {does} and shows a verdict per check",
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
