"""mkdocs hooks (mkdocs.yml `hooks:`): pages the site carries that the grader's own code writes at build time,
so they cannot drift from it. Today: the example class report the instructors' page shows."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

EXAMPLE_FOLDER = "assets/generated/class-report-example"


def on_files(files: Files, config: Any) -> Files:
    from graders.cohort.example import example_pages
    from graders.labs import get_lab

    for path, page in example_pages(get_lab("ml-api"), EXAMPLE_FOLDER):
        files.append(File.generated(config, path, content=page))
    return files
