"""Lab essential-commands: a named volume with a dataset, PostgreSQL on a network of the learner's with a restart
policy and a health check, a query with `docker exec`, a backup and restore of the volume, and a clean-up that keeps
the data (curriculum Part 3). An engine-state lab: the grader looks at the learner's own objects and files."""

from __future__ import annotations

from pathlib import Path

from graders.checks.engine_volumes import (
    backup_matches,
    cleaned_up,
    database_healthy,
    query_saved,
    restored_matches,
    volume_holds,
)
from graders.labels import task_label
from graders.learner_volumes import Volume
from graders.spec import LabSpec

LAB = "essential-commands"
LABEL = task_label(LAB)  # course.lab=essential-commands
PYTHON = "python:3.13-slim"
POSTGRES = "postgres:17"
DATASET = "data/measurements.csv"
TAR = "ess-data.tar"

RESTORE = f"docker run --rm -i --label {LABEL} -v ess-restored:/data {PYTHON} tar -C /data -xf - < {TAR}"
RESTORED = Volume("ess-restored", LABEL, f"docker volume create --label {LABEL} ess-restored",
                  fill=f"restore the backup into it: `{RESTORE}`")
DB_COMMAND = (f"docker run -d --name ess-db --label {LABEL} --network ess-net --restart unless-stopped "
              "-e POSTGRES_PASSWORD=course-only -v ess-data:/data:ro "
              "--health-cmd \"pg_isready -h 127.0.0.1 -U postgres\" --health-interval 1s --health-timeout 3s "
              f"--health-retries 30 {POSTGRES}")
COPY = (f"`docker container create --name ess-loader --label {LABEL} -v ess-data:/data {PYTHON}`, then "
        f"`docker cp {DATASET} ess-loader:/data/measurements.csv`")
DATA = Volume("ess-data", LABEL, f"docker volume create --label {LABEL} ess-data",
              fill=f"copy the dataset into it: {COPY}")
QUERY = ("docker exec ess-db psql -U postgres -At -c \"SELECT count(*), round(avg(temperature), 2) FROM measurements\" "
         "> query.txt")
BACKUP = f"docker run --rm --label {LABEL} -v ess-data:/data:ro {PYTHON} tar -C /data -cf - . > {TAR}"

SPEC = LabSpec(
    id=LAB,
    title="Volumes, networks and clean-up",
    lesson="commands.md",
    kind="engine-state",
    files=("query.txt",),
    base_images=(PYTHON, POSTGRES),
    folder=Path(__file__).parent,
    port=None,
    task_objects=("ess-db", "ess-loader", "ess-net", DATA.name, RESTORED.name, "ess-tools"),
    checks=(
        volume_holds(15, DATA, "measurements.csv", DATASET, COPY),
        database_healthy(20, "ess-db", POSTGRES, LABEL, "ess-net", DB_COMMAND),
        query_saved(15, "query.txt", DATASET, column=2, command=QUERY),
        backup_matches(15, TAR, DATA, BACKUP),
        restored_matches(15, RESTORED, DATA, RESTORE),
        cleaned_up(20, LABEL, keep=(DATA.name, RESTORED.name)),
    ),
)
