"""mkdocs hooks (mkdocs.yml `hooks:`): what the site carries that the grader's own code decides at build time, so
it cannot drift from it. The example class report the instructors' page shows; the question bank the practice
exam page asks from; the home page's diagram and tables of lessons and labs; and in each lesson, the lab's
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
    from graders.exam.question_bank import default
    from graders.exam.site_bank import PATH, bank_json
    from graders.labs import get_lab

    for path, page in example_pages(get_lab("ml-api"), EXAMPLE_FOLDER):
        files.append(File.generated(config, path, content=page))
    files.append(File.generated(config, PATH, content=bank_json(default())))  # the practice page's questions
    return files


def lab_links(markdown: str, labs: set[str] | frozenset[str]) -> str:
    """The markdown with each existing lab's "Open the notebook `labs/X/X.ipynb`" linked to JupyterLab."""

    def link(match: re.Match[str]) -> str:
        lab = match["lab"]
        if lab not in labs:
            return match[0]
        return f"{match[1]}[`labs/{lab}/{lab}.ipynb`]({JUPYTERLAB}{lab}/{lab}.ipynb){{ .{LAB_LINK_CLASS} }}"

    return _OPEN_NOTEBOOK.sub(link, markdown)


LABS_TABLE = "<!-- labs-table -->"  # in course/index.md: replaced by every lab there is, in the course's order


def labs_table() -> str:
    """The home page's table of labs, from the lab registry (as `mastery labs --json` lists them), in the order
    `mastery progress` shows them: a lab added or renamed shows up without anyone editing the page."""
    from graders.course_outline import nav
    from graders.labs import all_labs
    from graders.progress_table import course_order

    titles = {page.path: page.title for page in nav()}  # as the navigation names each lesson
    rows = ["| Lab | Lesson | Notebook | Check with |", "| --- | --- | --- | --- |"]
    for spec in course_order(all_labs()):
        title = titles[spec.lesson]
        rows.append(f"| `{spec.id}` | [{title}]({spec.lesson}#lab-{spec.id}) | `labs/{spec.id}/{spec.id}.ipynb` | "
                    f"`mastery check {spec.id}` |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    from graders.course_outline import MODULES_DIAGRAM, MODULES_TABLE, modules_diagram, modules_table
    from graders.labs import all_labs

    if LABS_TABLE in markdown:
        markdown = markdown.replace(LABS_TABLE, labs_table())
    if MODULES_TABLE in markdown:
        markdown = markdown.replace(MODULES_TABLE, modules_table(page.file.src_uri))
    if MODULES_DIAGRAM in markdown:
        markdown = markdown.replace(MODULES_DIAGRAM, modules_diagram())
    return lab_links(markdown, frozenset(all_labs()))
