"""Lab ci-pipeline: a GitHub Actions workflow for a small model service (curriculum Part 8, corrected).

Graded from the workflow (graders/kinds/workflow.py): the static checks read it; its build and test steps are
carried out by the grader on the engine, never its shell; pushes are recorded where they stand, never performed."""

from __future__ import annotations

from pathlib import Path

from graders.checks.workflow import (
    actions_pinned,
    builds_with_cache,
    image_builds,
    least_privilege,
    push_after_tests,
    pushes_sha_tag,
    scan_step,
    tests_pass_in_image,
    workflow_valid,
)
from graders.limits import Limits
from graders.spec import LabSpec

SPEC = LabSpec(
    id="ci-pipeline",
    title="A CI/CD pipeline for a model service",
    lesson="cicd.md",
    kind="workflow",
    files=(".github/workflows/ci.yml", "Dockerfile", "app.py", "test_app.py"),
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=None,
    limits=Limits(build_timeout_s=300.0, run_timeout_s=60.0),
    checks=(
        workflow_valid(15),
        actions_pinned(10),
        least_privilege(10),
        builds_with_cache(10),
        image_builds(10),
        tests_pass_in_image(15),
        scan_step(10),
        push_after_tests(10),
        pushes_sha_tag(10),
    ),
)
