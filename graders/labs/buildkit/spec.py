"""Lab buildkit: cache mounts and platform-aware stages for a small diagram job (curriculum Part 10)."""

from __future__ import annotations

from pathlib import Path

from graders.checks.build import image_builds
from graders.checks.buildkit import cache_mounts_used, cache_speeds_rebuild, platform_aware_from
from graders.checks.output import prints
from graders.checks.static import dockerfile_valid
from graders.spec import LabSpec, RunMode

SPEC = LabSpec(
    id="buildkit",
    title="Faster, platform-aware builds with BuildKit",
    lesson="advanced.md",
    kind="dockerfile",
    files=("Dockerfile",),
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=None,
    run_mode=RunMode.BATCH,
    checks=(
        dockerfile_valid(10),
        cache_mounts_used(15),
        platform_aware_from(20),
        image_builds(10),
        # jq: small (three packages, about 0.4 MB) and in every Debian release the stand-ins are made from.
        cache_speeds_rebuild(25, added_package="jq"),
        prints(20, (r"pipeline: 6 steps, 6 edges", r"wrote \S*pipeline\.svg \(\d+ bytes, 6 nodes drawn\)"),
               title="Runs and draws the pipeline diagram", script="report.py"),
    ),
)
