"""Lab troubleshooting: a broken stack to repair, one check per fault (curriculum "Pro Tips").

The starter in labs/troubleshooting/ is the broken stack; solution/ holds the repaired files, and each
broken variant puts one fault back.
"""

from __future__ import annotations

from pathlib import Path

from graders.checks.compose import compose_valid, stack_builds, stack_healthy
from graders.checks.repair import healthcheck_tools_exist, host_ports_free, output_written, prediction_stored, waits_for_database
from graders.spec import LabSpec

# What `make course` keeps listening while a learner works (scripts/course.sh): a stack that publishes one
# of these fails on the learner's machine, though never in the grader's run.
COURSE_PORTS = {8008: "the course site (`make course`)", 8888: "the course's JupyterLab (`make course`)"}

SPEC = LabSpec(
    id="troubleshooting",
    title="Repair a broken stack",
    lesson="pro-tips.md",
    kind="compose",
    files=("compose.yaml", "reports/Dockerfile"),
    base_images=("python:3.13-slim", "postgres:17"),
    folder=Path(__file__).parent,
    port=None,
    checks=(
        compose_valid(10),
        stack_builds(10),
        host_ports_free(15, held=COURSE_PORTS),
        healthcheck_tools_exist(15, required=("api", "reports")),
        stack_healthy(10, need_health=("db", "api", "reports")),
        waits_for_database(15, "api", "db"),
        output_written(15, "reports", "/reports/summary.json"),
        prediction_stored(10, "api", 8080, db="db"),
    ),
)
