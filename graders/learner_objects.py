"""What an engine-state lab's grader may do with the learner's own objects: look, never touch.

The learner made these containers with their own `docker` commands; the grader reads them by the names and
labels the task gave (inspect, list, logs) and has no call here that starts, stops, changes or removes
anything. One view per grading run: the checks that ask about the same container see the same answer.
"""

from __future__ import annotations

import threading
from typing import Any

import docker.errors

from graders import engine

MAX_LOG_BYTES = 256 * 1024  # a job's logs are a few lines; a chatty container's are cut, not read whole


def container_attrs(name: str) -> dict[str, Any] | None:
    """The inspect data of the container called exactly `name` now (the engine also resolves an id prefix, which
    does not count), or None when there is none. Read afresh each call."""
    try:
        attrs: dict[str, Any] = engine.client().api.inspect_container(name)
    except docker.errors.NotFound:
        return None
    return attrs if attrs.get("Name", "").lstrip("/") == name else None


class LearnerObjects:
    """A read-only, per-run view of the engine's containers, by name and label."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._containers: dict[str, dict[str, Any] | None] = {}
        self._logs: dict[str, tuple[str, str]] = {}

    def container(self, name: str) -> dict[str, Any] | None:
        """The inspect data of the container called `name`, or None when none is. The engine also resolves an
        id prefix: only a container whose name is exactly this one counts."""
        with self._lock:
            if name in self._containers:
                return self._containers[name]
        attrs = container_attrs(name)
        with self._lock:
            return self._containers.setdefault(name, attrs)

    def network(self, name: str) -> dict[str, Any] | None:
        """The inspect data of the network called `name`, or None when none is (only an exact name counts, not an
        id prefix). Networks change as containers join and leave: read each time, not kept."""
        try:
            attrs: dict[str, Any] | None = engine.client().api.inspect_network(name)
        except docker.errors.NotFound:
            return None
        return attrs if attrs is not None and attrs.get("Name") == name else None

    def logs(self, name: str) -> tuple[str, str]:
        """What the container wrote to stdout and to stderr, as `docker logs` shows them (each cut to its last
        MAX_LOG_BYTES). Reading logs changes nothing."""
        with self._lock:
            if name in self._logs:
                return self._logs[name]
        api = engine.client().api
        out, err = (api.logs(name, stdout=stdout, stderr=not stdout, timestamps=False)[-MAX_LOG_BYTES:]
                    for stdout in (True, False))
        found = (out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
        with self._lock:
            return self._logs.setdefault(name, found)

    def labelled(self, label: str) -> list[dict[str, Any]]:
        """Every container (running or not) carrying `label` (`key=value`), as `docker ps -a --filter label=…`
        lists them: Names, Image, State, Status."""
        found: list[dict[str, Any]] = engine.client().api.containers(all=True, filters={"label": label})
        return found

    def image_id(self, reference: str) -> str | None:
        """The id of the image `reference` names in this engine, or None when it has none."""
        try:
            attrs: dict[str, Any] = engine.client().api.inspect_image(reference)
        except docker.errors.ImageNotFound:
            return None
        return str(attrs["Id"])
