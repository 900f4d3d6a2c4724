"""The connection to the Docker Engine, and the sweep that removes whatever grading runs left behind."""

from __future__ import annotations

import functools
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker import DockerClient

from graders.errors import EngineUnavailable
from graders.labels import RUN_LABEL, image_reference

# testcontainers' reaper (Ryuk) needs an image pull; we label what we make and sweep it ourselves.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

log = logging.getLogger("graders")

ENGINE_HINT = "Start Docker (Docker Desktop, or `sudo bash scripts/bootstrap-engine.sh` on Debian/Ubuntu), then run `mastery doctor`."


@functools.cache
def client() -> DockerClient:
    """One client for the process; raises EngineUnavailable with what to do when no engine answers."""
    try:
        c = docker.from_env(timeout=120)
        c.ping()
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"No Docker Engine answers ({_short(exc)}).", ENGINE_HINT) from exc
    return c


def config_env(attrs: dict[str, Any]) -> dict[str, str]:
    """The environment an image's or a container's inspect data holds (its Config.Env), as a dict."""
    pairs = (attrs.get("Config") or {}).get("Env") or []
    return dict(e.split("=", 1) for e in pairs if "=" in e)


def paths_in_image(image: str, paths: list[str], labels: dict[str, str]) -> list[str]:
    """Which of the absolute paths the image holds, read from a container that is created, never started."""
    container = client().containers.create(image, command=["true"], labels=labels)
    found = []
    try:
        for path in paths:
            try:
                stream, _ = container.get_archive(path)
            except docker.errors.NotFound:
                continue
            for _ in stream:  # drain the archive so the connection is reused
                pass
            found.append(path)
    finally:
        container.remove(force=True)
    return found


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


@dataclass(frozen=True)
class SweepCount:
    containers: int
    images: int
    volumes: int
    networks: int

    @property
    def total(self) -> int:
        return self.containers + self.images + self.volumes + self.networks


def labelled(run_id: str | None = None) -> SweepCount:
    """How many objects a grading run made are still there (of one run, or of any run)."""
    c = client()
    flt = {"label": f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL}
    return SweepCount(
        containers=len(c.containers.list(all=True, filters=flt)),
        images=len(c.images.list(filters={"reference": image_reference(run_id)})),
        volumes=len(c.volumes.list(filters=flt)),
        networks=len(c.networks.list(filters=flt)),
    )


def sweep(run_id: str | None = None) -> SweepCount:
    """Remove the containers, images, volumes and networks of one run (or of every run). Returns what it removed."""
    c = client()
    flt = {"label": f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL}
    removed = [0, 0, 0, 0]
    for container in c.containers.list(all=True, filters=flt):
        try:
            container.remove(force=True, v=True)
            removed[0] += 1
        except docker.errors.NotFound:
            pass
    for image in c.images.list(filters={"reference": image_reference(run_id)}):
        for tag in image.tags:
            try:
                # By tag, with noprune: the layers stay as build cache, which makes the next check fast.
                c.images.remove(tag, noprune=True)
                removed[1] += 1
            except docker.errors.NotFound:
                pass
    for network in c.networks.list(filters=flt):
        try:
            network.remove()
            removed[3] += 1
        except docker.errors.NotFound:
            pass
    for volume in c.volumes.list(filters=flt):
        try:
            volume.remove(force=True)
            removed[2] += 1
        except docker.errors.NotFound:
            pass
    return SweepCount(*removed)


def remove_host_dir(folder: Path, image: str, labels: dict[str, str]) -> None:
    """Remove a host folder a container wrote into. Files it made as another user (root) are removed by a
    short-lived container of `image`, rather than left on the learner's machine."""
    shutil.rmtree(folder, ignore_errors=True)
    if not folder.exists():
        return
    try:
        client().containers.run(image, ["sh", "-c", "rm -rf /v/* /v/.[!.]*"], user="0", entrypoint=[], labels=labels,
                                volumes={str(folder): {"bind": "/v", "mode": "rw"}}, remove=True, network_mode="none")
    except docker.errors.DockerException as exc:
        log.debug("could not empty %s: %s", folder, exc)
    shutil.rmtree(folder, ignore_errors=True)
