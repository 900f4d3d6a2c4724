"""Lab hardened-image: the outline's "advanced Dockerfile for ML", corrected and hardened (Part 2)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from graders.checks.build import image_builds
from graders.checks.endpoint import JsonJudge, http_probe
from graders.checks.environment import env_set
from graders.checks.health import becomes_healthy, healthcheck_declared
from graders.checks.size import image_size
from graders.checks.static import dockerfile_valid
from graders.checks.tools import no_build_tools
from graders.checks.user import app_folder_owned, runs_as_non_root
from graders.spec import LabSpec


def draw_errors(rng: random.Random) -> tuple[dict[str, list[float]], JsonJudge]:
    """Errors drawn for this run (three to eight, both signs), and the judge of the mean absolute error."""
    errors = [round(rng.uniform(-50, 50), 2) for _ in range(rng.randint(3, 8))]
    expected = sum(abs(e) for e in errors) / len(errors)

    def judge(data: Any) -> str | None:
        value = data.get("mean_abs_error") if isinstance(data, dict) else None
        if not isinstance(value, (int, float)) or abs(value - expected) > 1e-6 * max(1.0, expected):
            return f'expected {{"mean_abs_error": {expected:.6g}}} for the errors {errors} drawn for this check'
        return None

    return {"errors": errors}, judge


SPEC = LabSpec(
    id="hardened-image",
    title="A hardened data-science service image",
    lesson="production-image.md",
    kind="dockerfile",
    files=("Dockerfile", ".dockerignore"),
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=8080,
    checks=(
        dockerfile_valid(5),
        healthcheck_declared(10),
        image_builds(10),
        env_set(10, (("PYTHONUNBUFFERED", "1"), ("PYTHONDONTWRITEBYTECODE", "1"))),
        image_size(10, max_mb=400),
        runs_as_non_root(10),
        app_folder_owned(10),
        no_build_tools(15),
        becomes_healthy(10),
        http_probe("score_endpoint", "POST /score answers with the score", 10, "POST", "/score",
                   cases=draw_errors, hint='POST /score takes {"errors": [numbers]} and answers {"mean_abs_error": the '
                                            "mean of their absolute values}, computed by the lab's fastscore extension."),
    ),
)
