"""The compose learning environment (compose.yaml), as seen from its `lab` service: the learner's engine is the
`engine` service, reached through a socket on a shared volume, so the course engine's commands that manage a
container on the host (start, stop, forward) cannot apply, and reset works through the engine's own API."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import docker
import docker.errors

from graders import engine

MARK = "MASTERY_ENVIRONMENT"  # set to "compose" in the lab image
PREPARE_LOG = Path("/tmp/mastery-images.log")  # environment/lab-start.sh writes it on the first start
HOST_COMMANDS = ("To restart your engine, run on your computer, in the course's folder: docker compose restart engine. "
                 "`docker compose down -v` removes the whole environment, your lab files too.")


def active(environ: dict[str, str] | None = None) -> bool:
    """Whether this process runs in the environment's lab service."""
    return (os.environ if environ is None else environ).get(MARK) == "compose"


def prepare_state() -> str:
    """The first start's image preparation, as its last log line says: for `mastery doctor`."""
    try:
        lines = [line for line in PREPARE_LOG.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "not started (the lab service starts it; MASTERY_PREPARE_IMAGES=0 turns it off)"
    return lines[-1] if lines else "starting"


def reset(keep: Iterable[str], say: Callable[[str], None] = print) -> int:
    """Remove every container, volume, user-defined network and image in the learner's engine, and its build
    cache, but keep the course's base images (`keep`), which an offline machine cannot make again from here.
    Returns how many objects went."""
    client = engine.client()
    kept = set(keep)
    removed = 0
    for container in client.containers.list(all=True):
        say(f"removing container {container.name}")
        container.remove(force=True, v=True)
        removed += 1
    for network in client.networks.list():
        if network.name not in ("bridge", "host", "none"):
            network.remove()
            removed += 1
    for volume in client.volumes.list():
        volume.remove(force=True)
        removed += 1
    for image in client.images.list():
        if kept.intersection(image.tags):
            continue
        try:
            client.images.remove(image.id, force=True)
            removed += 1
        except docker.errors.NotFound:
            pass  # a parent of one removed before it
    client.api.prune_builds()
    return removed
