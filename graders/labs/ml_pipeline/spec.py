"""Lab ml-pipeline, the final project: training, tracking, a database, an API and JupyterLab as one stack.

The time budget, measured on a 2-core machine with the images built: the reference solution's `up --wait`
took 16.7 to 19.2 s in the grader's run (probes every 0.5 s, another lab's tests running beside it), and
27 s as `docker compose up --wait` with its own 5 s intervals; those intervals allow no less than 20 s
(db 5 s, mlflow 5 s, jupyter's image 10 s). 60 s is three times the grader's figure, room for a slower
machine, while Docker's default interval of 30 s on the database and MLflow alone adds up to 60 s before
training can even start, and a training run sized for more than a demo does not fit either.
"""

from __future__ import annotations

from pathlib import Path

from graders.checks.compose import (HEALTHY, compose_valid, leaves_nothing, stack_builds, stack_healthy, up_within_budget,
                                    waits_for)
from graders.checks.mlflow import run_recorded
from graders.checks.pipeline import model_run_id, serves_model, training_completes
from graders.limits import Limits
from graders.spec import LabSpec
from graders.stack import COMPLETED

# One flower of each species from the iris data set, far from the others: any trained model gets them right.
SAMPLES = ((5.1, 3.5, 1.4, 0.2), (6.0, 2.9, 4.5, 1.5), (6.9, 3.1, 5.4, 2.1))
SPECIES = ("setosa", "versicolor", "virginica")

SPEC = LabSpec(
    id="ml-pipeline",
    title="The complete ML pipeline with Compose",
    lesson="final-project.md",
    kind="compose",
    files=("compose.yaml", "training/Dockerfile", "api/Dockerfile"),
    base_images=("python:3.13-slim", "postgres:17", "ghcr.io/mlflow/mlflow:v3.17.2"),
    folder=Path(__file__).parent,
    port=None,
    limits=Limits(health_budget_s=180.0, run_timeout_s=300.0),
    checks=(
        compose_valid(5),
        stack_builds(10),
        waits_for(10, {"mlflow": {"db": HEALTHY}, "train": {"mlflow": HEALTHY}, "api": {"train": COMPLETED},
                       "jupyter": {"mlflow": HEALTHY}}),
        stack_healthy(10, need_health=("db", "mlflow", "api", "jupyter")),
        training_completes(15, job="train", reader="api"),
        serves_model(15, SAMPLES, SPECIES, job="train", service="api", port=8080),
        run_recorded(15, metric="accuracy", run_id=model_run_id("train")),
        up_within_budget(10, budget_s=60.0),
        leaves_nothing(10),
    ),
)
