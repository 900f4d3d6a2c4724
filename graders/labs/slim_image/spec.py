"""Lab slim-image: slim a bloated image down without changing what it does (curriculum Part 9)."""

from __future__ import annotations

from pathlib import Path

from graders.checks.build import image_builds
from graders.checks.output import prints
from graders.checks.size import little_wasted_space, size_fraction_of_reference
from graders.checks.static import caches_cleaned_in_same_layer, dockerfile_valid
from graders.spec import LabSpec, RunMode

SPEC = LabSpec(
    id="slim-image",
    title="Slim an image down",
    lesson="performance.md",
    kind="dockerfile",
    files=("Dockerfile", ".dockerignore"),
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=None,
    run_mode=RunMode.BATCH,
    checks=(
        dockerfile_valid(5),
        caches_cleaned_in_same_layer(15),
        image_builds(10),
        size_fraction_of_reference(25, reference="bloated.Dockerfile", fraction=0.6),
        little_wasted_space(20, max_mb=10),
        prints(25, (r"orders: 8\n", r"total revenue: 309\.40\n", r"best region: north \(109\.80\)"),
               title="Prints exactly what the original prints", script="report.py"),
    ),
)
