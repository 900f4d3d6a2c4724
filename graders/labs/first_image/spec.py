"""Lab first-image: a data-science script in a pinned, cache-friendly image (curriculum Part 2)."""

from __future__ import annotations

from pathlib import Path

from graders.checks.build import image_builds
from graders.checks.cache import dependency_layer_cached
from graders.checks.context import image_excludes
from graders.checks.output import prints
from graders.checks.static import base_image_pinned, dockerfile_valid
from graders.spec import LabSpec, RunMode

SPEC = LabSpec(
    id="first-image",
    title="Your first data-science image",
    lesson="first-image.md",
    kind="dockerfile",
    files=("Dockerfile", ".dockerignore"),
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=None,
    run_mode=RunMode.BATCH,
    # A lab folder cannot carry a .git folder of its own, so the grader adds one to its copy.
    plant=((".git/HEAD", "ref: refs/heads/main\n"), (".git/config", "[core]\n\trepositoryformatversion = 0\n")),
    checks=(
        dockerfile_valid(10),
        base_image_pinned(10),
        image_builds(20),
        prints(25, (r"rows: 178, columns: 14", r"accuracy: (0\.9\d\d|1\.000)"), script="analyze.py"),
        dependency_layer_cached(20, source_file="analyze.py"),
        image_excludes(15, paths=("data", ".git", ".env")),
    ),
)
