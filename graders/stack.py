"""A learner's compose stack, brought up for real with `docker compose` (graders/compose_cli.py), and what the
engine says about its containers.

The grader's effective model is kept in memory while the run adds to it (an image's own healthcheck, made
faster, once the images are built) and written once, when the first compose command needs the file.
"""

from __future__ import annotations

import contextlib
import json
import re
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors

from graders import engine
from graders.compose_cli import ComposeCLI, StackCommandFailed, gist
from graders.errors import ContainerFailed
from graders.exec_probe import exec_in
from graders.front import FRONT, Forward, published_port
from graders.processes import app_process, app_uid
from graders.stopped import stopped

LOG_TAIL_LINES = 20
ANONYMOUS = re.compile(r"[0-9a-f]{64}")
COMPLETED = "service_completed_successfully"
PROJECT_LABEL = "com.docker.compose.project"
GO_MODE_DIR = 1 << 31  # the engine reports file modes as Go's os.FileMode, where this bit marks a folder


def awaited_jobs(services: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The one-off jobs of a stack: services another one waits for with `service_completed_successfully`.
    `up --wait` expects exactly these to exit 0 (any other stopped container fails it), so a job that
    finished well counts as done, not as down."""
    return {dep for service in services.values() for dep, how in (service.get("depends_on") or {}).items()
            if isinstance(how, dict) and how.get("condition") == COMPLETED}


def finished_well(state: Mapping[str, Any]) -> bool:
    """A container's State says it ran to the end and exited 0 (not killed for memory)."""
    return state.get("Status") == "exited" and state.get("ExitCode") == 0 and not state.get("OOMKilled")


@dataclass
class Stack:
    """The running stack: compose commands with limits, and what the engine says about its containers."""

    file: Path  # where the grader's effective compose file (JSON) is written
    model: dict[str, Any]  # that file's content: complete before the first compose command
    timeout_s: float
    forwards: tuple[Forward, ...] = ()  # the ports the grader's front publishes (graders/front.py)
    compose: ComposeCLI = field(init=False)
    written: bool = False
    built: bool = False
    started: bool = False
    # Volumes an image's VOLUME made for a container: not named in the file, so `down --volumes` misses
    # those of containers an earlier `down` removed. Remembered here and removed at teardown.
    anonymous_volumes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.compose = ComposeCLI(self.file, self.timeout_s)

    @property
    def project(self) -> str:
        return str(self.model["name"])

    def run(self, *args: str, timeout_s: float | None = None) -> str:
        """One `docker compose` command on this stack; its stdout. Raises StackCommandFailed."""
        if not self.written:
            self.file.write_text(json.dumps(self.model, indent=1))
            self.written = True
        return self.compose.run(*args, timeout_s=timeout_s)

    def up(self, wait_s: float, *services: str, scale: dict[str, int] | None = None) -> float:
        """`up --wait`: returns once every service is running and those with a healthcheck are healthy."""
        started = time.monotonic()
        self.started = True
        scaling = [f"--scale={name}={n}" for name, n in (scale or {}).items()]
        if services and self.forwards:
            services = (*services, FRONT)  # the ports come back with their front
        self.run("up", "--detach", "--wait", f"--wait-timeout={int(wait_s)}", "--no-build", *scaling, *services,
                 timeout_s=wait_s + 60)
        return time.monotonic() - started

    def down(self, volumes: bool = True, stop_timeout_s: int = 5) -> None:
        """`down`; a check that brings the stack back keeps the default grace for a clean database shutdown."""
        for container in self.containers():
            self.anonymous_volumes |= {m["Name"] for m in container.get("Mounts") or []
                                       if m.get("Type") == "volume" and ANONYMOUS.fullmatch(m.get("Name") or "")}
        self.run("down", "--remove-orphans", f"--timeout={stop_timeout_s}", *(["--volumes"] if volumes else []))

    def remove_anonymous_volumes(self) -> None:
        for name in self.anonymous_volumes:
            with contextlib.suppress(docker.errors.NotFound):
                engine.client().api.remove_volume(name, force=True)

    def containers(self, service: str | None = None, include_stopped: bool = True) -> list[dict[str, Any]]:
        """Inspect data of the stack's containers (of one service), from the engine, newest last."""
        flt = {"label": [f"com.docker.compose.project={self.project}"]}
        if service:
            flt["label"].append(f"com.docker.compose.service={service}")
        found = engine.client().api.containers(all=include_stopped, filters=flt)
        attrs = [engine.client().api.inspect_container(c["Id"]) for c in found]
        return sorted(attrs, key=lambda a: a.get("Created", ""))

    def container(self, service: str) -> dict[str, Any]:
        found = self.containers(service)
        if not found:
            raise ContainerFailed(f"The service `{service}` has no container.", "Check that it is in your compose file.")
        return found[-1]

    def exec(self, service: str, argv: list[str], timeout_s: float = 30.0, user: str | None = None) -> tuple[int, str]:
        """Run a command in the service's container: (exit code, output), as graders/exec_probe.py runs it."""
        return exec_in(self.container(service)["Id"], argv, timeout_s, user)

    def port(self, service: str, target: int) -> int | None:
        """The host port where the grader's front forwards to a service's container port."""
        listen = next((f.listen for f in self.forwards if (f.host, f.target) == (service, target)), None)
        running = self.containers(FRONT, include_stopped=False) if listen is not None else []
        return published_port(running[-1], listen) if running and listen is not None else None

    def state(self, service: str) -> dict[str, Any]:
        """The engine's State of the service's newest container (Status, ExitCode, OOMKilled, StartedAt...)."""
        state: dict[str, Any] = self.container(service).get("State") or {}
        return state

    def wait_stopped(self, service: str, timeout_s: float, poll_s: float = 0.5) -> dict[str, Any]:
        """The State of a one-off job once it has stopped, or as it is when `timeout_s` ran out. A container
        that was created but never started is not waited for: Compose starts it only while `up` runs."""
        deadline = time.monotonic() + timeout_s
        state = self.state(service)
        while state.get("Status") in ("running", "restarting") and time.monotonic() < deadline:
            time.sleep(poll_s)
            state = self.state(service)
        return state

    def read_file(self, service: str, path: str, max_bytes: int = 1 << 20) -> tuple[int, bytes] | None:
        """A file in the service's newest container, running or stopped, as `docker cp` sees it (volumes
        included): (size, content), or None when there is no such file. The content of a file larger than
        `max_bytes` is not read (it comes back empty): its size is in the archive's header."""
        container_id = self.container(service)["Id"]
        try:
            chunks, stat = engine.client().api.get_archive(container_id, path)
        except docker.errors.NotFound:
            return None
        size = int(stat.get("size") or 0)
        if int(stat.get("mode") or 0) & GO_MODE_DIR or size > max_bytes:
            chunks.close()
            return None if int(stat.get("mode") or 0) & GO_MODE_DIR else (size, b"")
        with tarfile.open(fileobj=engine.ChunkReader(iter(chunks)), mode="r|") as archive:
            for member in archive:
                handle = archive.extractfile(member) if member.isfile() else None
                return (member.size, handle.read()) if handle else None
        return None

    def leftovers(self) -> dict[str, list[str]]:
        """What of this project the engine still has: containers, networks and volumes carrying its Compose
        label, and the anonymous volumes its containers used (those carry no label)."""
        api = engine.client().api
        flt = {"label": [f"{PROJECT_LABEL}={self.project}"]}
        volumes = api.volumes(filters=flt).get("Volumes") or []
        still = [name for name in sorted(self.anonymous_volumes) if _volume_exists(name)]
        return {"containers": [c["Names"][0].lstrip("/") for c in api.containers(all=True, filters=flt)],
                "networks": [n["Name"] for n in api.networks(filters=flt)],
                "volumes": [v["Name"] for v in volumes] + still}

    def health(self, service: str) -> tuple[str, str]:
        """(status, the last probe's output) of the service's newest container; without a healthcheck the
        status is "running" or the container's own (exited, created...)."""
        return _health(self.container(service).get("State") or {})

    def why_down(self, service: str, jobs: set[str]) -> str | None:
        """What is wrong with a service that is not up, in one phrase that names it; None when it is up
        (healthy, running, or one of `jobs`, the awaited one-off jobs, that exited 0). One inspection."""
        found = self.containers(service)
        if not found:
            return f"`{service}` was not started"
        container = found[-1]
        state = container.get("State") or {}
        status, last_probe = _health(state)
        if status in ("healthy", "running"):
            return None
        if finished_well(state):
            if service in jobs:
                return None
            return (f"`{service}` exited with status 0, and no service waits for it with "
                    "`condition: service_completed_successfully`, so `up --wait` counts it as stopped")
        if status == "created":
            return f"`{service}` never started (it waits for another service)"
        down = stopped(state)
        if down is not None and down.out_of_memory:
            limit = (container.get("HostConfig") or {}).get("Memory") or 0
            return f"`{service}` was killed for using more than its {limit / 2**20:.0f} MiB of memory"
        if last_probe and down is None:  # a stopped container's last probe only says that it stopped
            detail = f"its healthcheck said: {gist(last_probe)!r}"
        else:
            detail = f"its output ends: {gist(self.logs(service, 30))!r}"
        said = f"exited with status {down.exit_code}" if down is not None else f"is {status}"
        return f"`{service}` {said} ({detail})"

    def proc_status(self, service: str) -> dict[str, str]:
        """The /proc status fields (Uid, CapEff, NoNewPrivs...) of the service's app process (PID 1, or the
        child of an init that only reaps), read inside the container; empty when it cannot be read."""
        process = app_process(lambda argv: self.exec(service, argv))
        return process.fields if process is not None else {}

    def app_uid(self, service: str) -> tuple[str, str] | None:
        """(effective uid, where it was seen) of the service's app, asked as graders/processes.py asks it."""
        return app_uid(lambda argv: self.exec(service, argv), self.container(service)["Id"])

    def logs(self, service: str, lines: int = LOG_TAIL_LINES) -> str:
        try:
            return self.run("logs", "--no-color", "--no-log-prefix", f"--tail={lines}", service, timeout_s=30).strip()
        except StackCommandFailed:
            return ""

    def ps(self) -> list[dict[str, Any]]:
        out = self.run("ps", "--all", "--format", "json", timeout_s=30)
        rows: list[dict[str, Any]] = []
        for line in out.splitlines():
            data = json.loads(line) if line.strip() else []
            rows += data if isinstance(data, list) else [data]
        return rows


def _health(state: Mapping[str, Any]) -> tuple[str, str]:
    health = state.get("Health")
    if not health:
        return ("running" if state.get("Running") else state.get("Status", "unknown")), ""
    log = health.get("Log") or []
    return health.get("Status", "unknown"), (log[-1].get("Output", "").strip()[-300:] if log else "")


def _volume_exists(name: str) -> bool:
    try:
        engine.client().api.inspect_volume(name)
    except docker.errors.NotFound:
        return False
    return True
