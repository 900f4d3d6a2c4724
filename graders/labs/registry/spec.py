"""Lab registry: a local image registry, an image pushed to it with a version tag and the commit's SHA, pulled back
by digest, pinned by that digest in a compose file, and saved to a tar for a machine with no network (curriculum:
registries). An engine-state lab: the grader inspects the registry container and reads the registry's API (catalog,
tags, manifest digests) and the learner's files; it pushes, deletes and changes nothing."""

from __future__ import annotations

from pathlib import Path

from graders.checks.engine_registry import Registry, commit_tag, pinned_by_digest, pushed, registry_running, saved_archive
from graders.images import REGISTRY_IMAGE
from graders.labels import task_label
from graders.spec import LabSpec

LAB = "registry"
LABEL = task_label(LAB)  # course.lab=registry
PYTHON = "python:3.13-slim"
REPOSITORY = "iris-api"
VERSION = "1.0.0"
COMMIT_FILE = "COMMIT"  # the starter's: the 40-character SHA of the commit the image is built from
ARCHIVE = "iris-api.tar"
NAME = f"localhost:5000/{REPOSITORY}"

REGISTRY = Registry("reg", REGISTRY_IMAGE, LABEL, "reg-data",
                    f"docker run -d --name reg --label {LABEL} -p 5000:5000 -v reg-data:/var/lib/registry "
                    f"{REGISTRY_IMAGE}")
SAVE = f"docker save -o {ARCHIVE} {NAME}:{VERSION}"

SPEC = LabSpec(
    id=LAB,
    title="A local registry: tags, digests and offline images",
    lesson="registries.md",
    kind="engine-state",
    files=(COMMIT_FILE, "compose.yaml"),  # or run.sh in place of compose.yaml: the check reads either
    base_images=(PYTHON, REGISTRY_IMAGE),
    folder=Path(__file__).parent,
    port=None,
    # The proofs remove these (and what carries the label): the registry, its volume, the images pushed and pulled.
    task_objects=(REGISTRY.container, REGISTRY.volume, f"{NAME}:{VERSION}", NAME),
    checks=(
        registry_running(15, REGISTRY),
        pushed(20, REGISTRY, REPOSITORY, VERSION),
        commit_tag(20, REGISTRY, REPOSITORY, VERSION, COMMIT_FILE),
        pinned_by_digest(25, REGISTRY, REPOSITORY, VERSION, ("compose.yaml", "run.sh")),
        saved_archive(20, REGISTRY, REPOSITORY, VERSION, ARCHIVE, SAVE),
    ),
)
