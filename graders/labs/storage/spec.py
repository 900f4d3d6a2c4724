"""Lab storage: the data in a named volume mounted read-only, a job with a read-only root filesystem that writes
only to a volume of its own and to a tmpfs with a size limit, a memory-backed volume made with the local driver's
options, and where the engine keeps its data (curriculum: storage). An engine-state lab: the grader reads the
learner's volumes and container, and the file they save."""

from __future__ import annotations

import json
from pathlib import Path

from graders.checks.engine_mounts import (
    MB,
    TmpfsMount,
    VolumeMount,
    mounts_as_asked,
    storage_facts_saved,
    volume_file_judged,
    volume_options,
)
from graders.checks.engine_state import job_succeeded
from graders.checks.engine_volumes import volume_holds
from graders.labels import task_label
from graders.learner_containers import Wanted
from graders.learner_volumes import Volume, safe_bytes
from graders.spec import LabSpec

LAB = "storage"
LABEL = task_label(LAB)  # course.lab=storage
IMAGE = "python:3.13-slim"
DATASET = "data/measurements.csv"
MODEL = "model.json"

COPY = (f"`docker run --rm -i --label {LABEL} -v sto-data:/data {IMAGE} sh -c 'cat > /data/measurements.csv' "
        f"< {DATASET}`, and the same for `train.py`")
DATA = Volume("sto-data", LABEL, f"docker volume create --label {LABEL} sto-data",
              fill=f"copy the dataset and the script into it: {COPY}")
MODELS = Volume("sto-models", LABEL, f"docker volume create --label {LABEL} sto-models",
                fill="run the training job `sto-train`, which writes the model into it")
CACHE = Volume("sto-cache", LABEL, f"docker volume create --label {LABEL} --driver local --opt type=tmpfs "
                                   "--opt device=tmpfs --opt o=size=32m sto-cache")
TRAIN = Wanted("sto-train", IMAGE, LABEL,
               f"docker run --name sto-train --label {LABEL} --read-only -v sto-data:/data:ro -v sto-models:/models "
               f"--tmpfs /scratch:size=64m {IMAGE} python /data/train.py")


def judge_model(data: bytes, folder: Path) -> str | None:
    """The model the lab's train.py fits on the lab's dataset (the learner's copy in their folder): its row count and
    each station's count and mean temperature."""
    csv = safe_bytes(folder, DATASET)
    if csv is None:
        return f"there is no `{DATASET}` in your folder to compare it with; restore the lab's dataset"
    stations: dict[str, list[float]] = {}
    for line in csv.decode("utf-8", "replace").strip().splitlines()[1:]:
        parts = line.split(",")
        if len(parts) == 3:
            try:
                stations.setdefault(parts[0], []).append(float(parts[2]))
            except ValueError:
                return f"`{DATASET}` in your folder is not the lab's dataset; restore it"
    try:
        model = json.loads(data)
        seen = {name: (int(s["count"]), float(s["mean"])) for name, s in model["stations"].items()}
        rows = int(model["rows"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return "it is not the model train.py writes (JSON with `rows` and, per station, `count` and `mean`)"
    expected = {name: (len(v), sum(v) / len(v)) for name, v in stations.items()}
    total = sum(len(v) for v in stations.values())
    if rows != total or set(seen) != set(expected):
        return (f"it has {rows} rows and the stations {sorted(seen)}, where `{DATASET}` has {total} rows and the "
                f"stations {sorted(expected)}")
    wrong = [name for name, (count, mean) in expected.items()
             if seen[name][0] != count or abs(seen[name][1] - mean) > 0.006]
    if wrong:
        return f"the count or mean of {', '.join(f'`{n}`' for n in sorted(wrong))} differs from what `{DATASET}` gives"
    return None


SPEC = LabSpec(
    id=LAB,
    title="Storage: volumes, tmpfs and drivers",
    lesson="storage.md",
    kind="engine-state",
    files=("storage.txt",),
    base_images=(IMAGE,),
    folder=Path(__file__).parent,
    port=None,
    task_objects=(TRAIN.name, DATA.name, MODELS.name, CACHE.name),
    checks=(
        volume_holds(15, DATA, "measurements.csv", DATASET, COPY),
        mounts_as_asked(25, TRAIN, volumes=(VolumeMount(DATA.name, "/data", read_only=True),
                                            VolumeMount(MODELS.name, "/models", read_only=False)),
                        tmpfs=TmpfsMount("/scratch", 64 * MB)),
        job_succeeded(10, TRAIN, expect=r"saved /models/model\.json", shows="saved /models/model.json"),
        volume_file_judged(20, MODELS, MODEL, judge_model, name="model_saved",
                           hint=f"Run the lab's train.py as the job, unchanged, so that it writes the model: "
                                f"`docker rm -f sto-train`, then `{TRAIN.command}`."),
        volume_options(15, CACHE, "tmpfs", 64 * MB, name="memory_volume"),
        storage_facts_saved(15, "storage.txt", DATA.name),
    ),
)
