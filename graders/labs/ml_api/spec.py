"""Lab ml-api: containerise a scikit-learn model served over HTTP (curriculum Part 4, corrected)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from graders.checks.build import image_builds
from graders.checks.endpoint import JsonJudge, http_probe
from graders.checks.health import becomes_healthy, healthcheck_declared
from graders.checks.size import image_size
from graders.checks.static import dockerfile_valid, hadolint_clean
from graders.checks.user import runs_as_non_root
from graders.spec import LabSpec

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
# A typical flower of each species, far from the class boundaries; each request jitters them by at most 0.1 cm,
# which keeps them there: any sound iris model gets them right, and no hard-coded answer does.
PROTOTYPES: dict[str, tuple[float, ...]] = {
    "setosa": (5.0, 3.4, 1.5, 0.25),
    "versicolor": (5.9, 2.8, 4.3, 1.3),
    "virginica": (6.6, 3.0, 5.6, 2.1),
}


def judge_health(data: Any) -> str | None:
    if not isinstance(data, dict) or data.get("status") != "ok":
        return 'expected {"status": "ok"}'
    return None


def draw_flowers(rng: random.Random) -> tuple[list[dict[str, float]], JsonJudge]:
    """Four to seven flowers in a random order, every species at least once, and the judge of their answer."""
    species = [*PROTOTYPES, *(rng.choice(list(PROTOTYPES)) for _ in range(rng.randint(1, 4)))]
    rng.shuffle(species)
    records = [{f: round(v + rng.uniform(-0.1, 0.1), 2) for f, v in zip(FEATURES, PROTOTYPES[name], strict=True)}
               for name in species]
    return records, lambda data: judge_predictions(data, species)


def judge_predictions(data: Any, expected: list[str]) -> str | None:
    if not isinstance(data, dict) or "predictions" not in data:
        return 'expected a JSON object with a "predictions" key'
    predictions = data["predictions"]
    if not isinstance(predictions, list) or len(predictions) != len(expected):
        return f"sent {len(expected)} records, expected a list of {len(expected)} predictions, one per record"
    if predictions != expected:
        return f"sent {len(expected)} flowers drawn for this check, expected {expected}, got {predictions}"
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
                   cases=draw_flowers,
                   hint='POST /predict takes a JSON list of records and answers {"predictions": [...]}, same length.'),
    ),
)
