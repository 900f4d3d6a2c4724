"""mkdocs hooks (mkdocs.yml `hooks:`): what the site carries that the grader's own code decides at build time, so
it cannot drift from it. The example class report the instructors' page shows; and in each lesson, the lab's
notebook named in "Open the notebook `labs/<lab>/<lab>.ipynb`" becomes a link that opens it in the learner's
JupyterLab, for every lab that exists (a lab still to come keeps plain text). Written here once rather than by
hand in every lesson, so a new lab's lesson gets its link by saying the same sentence.

The links carry the class `mastery-lab-link`: course/assets/javascripts/lab-links.js turns them back into plain
text where the site is not served on the learner's own machine, as there they would lead nowhere."""

from __future__ import annotations

import re
from typing import Any

from mkdocs.structure.files import File, Files

EXAMPLE_FOLDER = "assets/generated/class-report-example"
# JupyterLab as `make course` (scripts/course.sh) and the compose environment start it: port 8888, root labs/.
JUPYTERLAB = "http://127.0.0.1:8888/lab/tree/"
LAB_LINK_CLASS = "mastery-lab-link"
_OPEN_NOTEBOOK = re.compile(r"(Open the notebook\s+)`labs/(?P<lab>[a-z0-9-]+)/(?P=lab)\.ipynb`")


def on_files(files: Files, config: Any) -> Files:
    from graders.cohort.example import example_pages
    from graders.labs import get_lab

    for path, page in example_pages(get_lab("ml-api"), EXAMPLE_FOLDER):
        files.append(File.generated(config, path, content=page))
    return files


def lab_links(markdown: str, labs: set[str] | frozenset[str]) -> str:
    """The markdown with each existing lab's "Open the notebook `labs/X/X.ipynb`" linked to JupyterLab."""

    def link(match: re.Match[str]) -> str:
        lab = match["lab"]
        if lab not in labs:
            return match[0]
        return f"{match[1]}[`labs/{lab}/{lab}.ipynb`]({JUPYTERLAB}{lab}/{lab}.ipynb){{ .{LAB_LINK_CLASS} }}"

    return _OPEN_NOTEBOOK.sub(link, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    from graders.labs import all_labs

    return lab_links(markdown, frozenset(all_labs()))
