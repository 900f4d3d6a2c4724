"""An engine-state lab's proofs do what its learner does: run the reference (or a variant's) command script in the
lab's folder against the test engine, then grade, then remove every container the task makes. The grader itself
makes and removes nothing, so the proofs clean up after the script, by the lab's label and its containers' names.

Proofs of one such lab use the same container names: on one engine they take turns (a lock per lab, held across
script, grading and clean-up), while other labs' proofs go on beside them."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker.errors

from graders import engine, engine_locks
from graders.labels import task_label
from graders.spec import LabSpec

SCRIPT = "commands.sh"  # in the lab's solution/, laid into the folder with the starter files
SCRIPT_TIMEOUT_S = 120


def task_objects(spec: LabSpec) -> set[str]:
    """The ids of the containers of the lab's task now in the engine: those with its label, and those with the
    names it gives (a variant may leave the label out)."""
    api = engine.client().api
    found = {c["Id"] for c in api.containers(all=True, filters={"label": task_label(spec.id)})}
    for name in spec.task_objects:
        with contextlib.suppress(docker.errors.NotFound):
            attrs = api.inspect_container(name)
            if attrs.get("Name", "").lstrip("/") == name:
                found.add(attrs["Id"])
    return found


def task_networks(spec: LabSpec) -> set[str]:
    """The ids of the networks of the lab's task now in the engine: those with its label, and those with the names
    it gives (`task_objects` names a lab's networks beside its containers)."""
    api = engine.client().api
    found = {n["Id"] for n in api.networks(filters={"label": task_label(spec.id)})}
    for name in spec.task_objects:
        with contextlib.suppress(docker.errors.NotFound):
            attrs = api.inspect_network(name)
            if attrs.get("Name") == name:
                found.add(attrs["Id"])
    return found


def remove_task_objects(spec: LabSpec) -> None:
    api = engine.client().api
    for container in task_objects(spec):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(container, force=True, v=True)
    for network in task_networks(spec):  # once their containers are gone
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_network(network)
    for volume in task_volumes(spec):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_volume(volume, force=True)
    for image in task_images(spec):  # the lab's own builds, tagged or dangling; never a base image
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_image(image, force=True)
    for tag in task_tags(spec):  # the task's names left on a base image (a variant tagged one): untagged only
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            api.remove_image(tag)


def task_tags(spec: LabSpec) -> set[str]:
    """Every tag and digest reference of a repository the task names (`localhost:5000/iris-api`, an entry with a
    `/` and no tag): a push leaves `…@sha256:…` on the image pushed, a base image too when a variant pushed one."""
    api = engine.client().api
    repositories = [name for name in spec.task_objects if "/" in name and ":" not in name.rpartition("/")[2]]
    found = set()
    for image in api.images(all=True):
        for ref in [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]:
            if str(ref).rpartition("@")[0] in repositories or str(ref).rpartition(":")[0] in repositories:
                found.add(str(ref))
    return found


def task_volumes(spec: LabSpec) -> set[str]:
    """The names of the lab's volumes now in the engine: those with its label, and those the task names."""
    api = engine.client().api
    found = {v["Name"] for v in api.volumes(filters={"label": task_label(spec.id)}).get("Volumes") or []}
    for name in spec.task_objects:
        with contextlib.suppress(docker.errors.NotFound):
            found.add(api.inspect_volume(name)["Name"])
    return found


def task_images(spec: LabSpec) -> set[str]:
    """The ids of the lab's images now in the engine (those the learner built with its label, and those tagged with a
    name the task gives), leaving out the base images it needs."""
    api = engine.client().api
    found = {i["Id"] for i in api.images(filters={"label": task_label(spec.id)})}
    for name in spec.task_objects:
        with contextlib.suppress(docker.errors.NotFound):
            found.add(api.inspect_image(name)["Id"])
    bases = set()
    for base in spec.base_images:
        with contextlib.suppress(docker.errors.NotFound):
            bases.add(api.inspect_image(base)["Id"])
    return found - bases


@contextlib.contextmanager
def task_done(spec: LabSpec, folder: Path, *, must_succeed: bool) -> Iterator[subprocess.CompletedProcess[str] | None]:
    """For an engine-state lab, the folder's script has run (with `bash -e` where every command must succeed: the
    reference and the alternatives) while the block grades; its containers are removed afterwards. Other kinds:
    nothing to do."""
    if spec.kind != "engine-state":
        yield None
        return
    with engine_locks.exclusive(f"lab-{spec.id}"):
        remove_task_objects(spec)  # what a killed earlier proof left would make the script's names clash
        try:
            # The docker CLI reaches the test engine through DOCKER_HOST, which tests/conftest.py sets.
            proc = subprocess.run(["bash", *(["-e"] if must_succeed else []), SCRIPT], cwd=folder, env=dict(os.environ),
                                  capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)
            if must_succeed:
                assert proc.returncode == 0, f"{SCRIPT} failed ({proc.returncode}): {proc.stderr[-2000:]}"
            yield proc
        finally:
            remove_task_objects(spec)
