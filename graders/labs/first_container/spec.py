"""Lab first-container: run, list, read and remove your first containers with `docker` commands (curriculum
Part 1). An engine-state lab: the grader looks at the learner's own containers and the files they saved."""

from __future__ import annotations

from pathlib import Path

from graders.checks.engine_state import (
    container_removed,
    container_running,
    file_holds_logs,
    file_lists_containers,
    job_succeeded,
    only_named_carry_label,
)
from graders.learner_containers import Wanted
from graders.labels import task_label
from graders.spec import LabSpec

LAB = "first-container"
LABEL = task_label(LAB)  # course.lab=first-container
IMAGE = "python:3.13-slim"
NUMBERS = "[18.5, 21.0, 23.5, 20.0, 19.5]"  # the day's temperatures; their mean is 20.5

BOX = Wanted("first-box", IMAGE, LABEL, f"docker run -d --name first-box --label {LABEL} {IMAGE} sleep infinity")
JOB = Wanted("first-job", IMAGE, LABEL, f"docker run --name first-job --label {LABEL} {IMAGE} python -c "
                                        f"\"import statistics; print('mean:', statistics.mean({NUMBERS}))\"")
TEMP = Wanted("first-temp", IMAGE, LABEL, f"docker create --name first-temp --label {LABEL} {IMAGE}")

SPEC = LabSpec(
    id=LAB,
    title="Your first containers",
    lesson="fundamentals.md",
    kind="engine-state",
    files=("ps.txt", "logs.txt", "removed.txt"),
    base_images=(IMAGE,),
    folder=Path(__file__).parent,
    port=None,
    task_objects=(BOX.name, JOB.name, TEMP.name),
    checks=(
        container_running(20, BOX),
        job_succeeded(20, JOB, expect=r"mean:\s*20\.5\b", shows="mean: 20.5"),
        file_lists_containers(15, "ps.txt", (BOX.name, JOB.name), f"docker ps -a --filter label={LABEL} > ps.txt"),
        file_holds_logs(15, "logs.txt", JOB),
        container_removed(15, TEMP, "removed.txt"),
        only_named_carry_label(15, LABEL, (BOX.name, JOB.name, TEMP.name), keep=(BOX.name, JOB.name)),
    ),
)
