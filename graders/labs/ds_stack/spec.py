"""Lab ds-stack: Jupyter, MLflow on PostgreSQL and a model API as one compose stack (curriculum Part 5)."""

from __future__ import annotations

from pathlib import Path

from graders.checks.compose import (compose_valid, data_persists, no_literal_secrets, not_published, scales, stack_builds,
                                    stack_healthy, waits_for_healthy)
from graders.checks.mlflow import runs_in_postgres
from graders.probes import psql
from graders.limits import Limits
from graders.spec import LabSpec

PROBE = "mastery_probe"

SPEC = LabSpec(
    id="ds-stack",
    title="A data-science stack with Compose",
    lesson="compose.md",
    kind="compose",
    files=("compose.yaml",),
    base_images=("python:3.13-slim", "postgres:17", "ghcr.io/mlflow/mlflow:v3.17.2"),
    folder=Path(__file__).parent,
    port=None,
    # MLflow creates its tables on first start: give the whole stack time to come up.
    limits=Limits(health_budget_s=180.0, run_timeout_s=300.0),
    checks=(
        compose_valid(10),
        stack_builds(10),
        waits_for_healthy(10, {"mlflow": ("db",), "api": ("mlflow",), "jupyter": ("mlflow",)}),
        not_published(10, "db"),
        no_literal_secrets(10),
        stack_healthy(15, need_health=("db", "mlflow", "api", "jupyter")),
        runs_in_postgres(10, client="jupyter"),
        scales(10, "api"),
        data_persists(15, "db",
                      write=psql(f"create table if not exists {PROBE} (note text); insert into {PROBE} values ('kept')"),
                      read=psql(f"select note from {PROBE}"), expect="kept"),
    ),
)
