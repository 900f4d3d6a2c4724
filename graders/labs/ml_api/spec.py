"""Lab ml-api: containerise a scikit-learn model served over HTTP (curriculum Part 4, corrected)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graders.checks.build import image_builds
from graders.checks.endpoint import http_probe
from graders.checks.health import becomes_healthy, healthcheck_declared
from graders.checks.size import image_size
from graders.checks.static import dockerfile_valid, hadolint_clean
from graders.checks.user import runs_as_non_root
from graders.spec import LabSpec

# One flower of each species, far from the class boundaries: any sound iris model gets them right.
SAMPLES: list[dict[str, float]] = [
    {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.5, "petal_width": 1.5},
    {"sepal_length": 6.9, "sepal_width": 3.1, "petal_length": 5.9, "petal_width": 2.3},
]
EXPECTED = ["setosa", "versicolor", "virginica"]


def judge_health(data: Any) -> str | None:
    if not isinstance(data, dict) or data.get("status") != "ok":
        return 'expected {"status": "ok"}'
    return None


def judge_predictions(data: Any) -> str | None:
    if not isinstance(data, dict) or "predictions" not in data:
        return 'expected a JSON object with a "predictions" key'
    predictions = data["predictions"]
    if not isinstance(predictions, list) or len(predictions) != len(SAMPLES):
        return f"expected a list of {len(SAMPLES)} predictions, one per record sent"
    if predictions != EXPECTED:
        return f"expected {EXPECTED} for the three sample flowers, got {predictions}"
    return None


SPEC = LabSpec(
    id="ml-api",
    title="Serve a scikit-learn model over HTTP",
    lesson="workflows/serving-a-model.md",
    kind="dockerfile",
    files=("Dockerfile", ".dockerignore"),
    base_images=("python:3.13-slim",),
    folder=Path(__file__).parent,
    port=8080,
    checks=(
        dockerfile_valid(5),
        hadolint_clean(5, rules=("DL3006", "DL3007", "DL3020", "DL3025", "DL3042", "DL3002", "DL3000", "DL3004")),
        healthcheck_declared(10),
        image_builds(15),
        image_size(10, max_mb=650),
        runs_as_non_root(15),
        becomes_healthy(15),
        http_probe("health_endpoint", "GET /health answers 200 ok", 10, "GET", "/health", judge=judge_health),
        http_probe("predict_endpoint", "POST /predict returns one prediction per record", 15, "POST", "/predict",
                   body=SAMPLES, judge=judge_predictions,
                   hint='POST /predict takes a JSON list of records and answers {"predictions": [...]}, same length.'),
    ),
)
