"""A learner's compose stack, brought up for real through testcontainers' DockerCompose, with time limits.

testcontainers runs `docker compose` for us; what it lacks for untrusted input (a limit on every
command, a clear message instead of CalledProcessError) is added here.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
from testcontainers.compose import DockerCompose

from graders import engine
from graders.errors import ContainerFailed, GraderError

LOG_TAIL_LINES = 20
ANONYMOUS = re.compile(r"[0-9a-f]{64}")


class StackCommandFailed(GraderError):
    """A `docker compose` command exited non-zero or ran past its limit; the message holds its output."""


@dataclass
class LimitedCompose(DockerCompose):
    """DockerCompose whose every command has a time limit."""

    timeout_s: float = 120.0

    def _run_command(self, cmd: str | list[str], context: str | None = None) -> subprocess.CompletedProcess[bytes]:
        argv = cmd if isinstance(cmd, list) else cmd.split()
        try:
            proc = subprocess.run(argv, capture_output=True, cwd=context or str(self.context), timeout=self.timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise StackCommandFailed(f"`{_short(argv)}` did not finish within {self.timeout_s:.0f} s.",
                                     "Something in the stack waits forever: a healthcheck that never passes, or a build "
                                     "that never ends.") from exc
        if proc.returncode != 0:
            said = (proc.stderr or proc.stdout).decode(errors="replace").strip()
            raise StackCommandFailed(f"`{_short(argv)}` failed (exit {proc.returncode}): {gist(said)}")
        return proc


def gist(text: str) -> str:
    """The line of some output that says what went wrong: the last error line, else the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "refused" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or [""])[-1][:240]


def _short(argv: list[str]) -> str:
    """The compose command without the grader's file path, as a learner would type it."""
    words = [w for i, w in enumerate(argv) if w != "-f" and (i == 0 or argv[i - 1] != "-f")]
    return " ".join(words)


@dataclass
class Stack:
    """The running stack: compose commands with limits, and what the engine says about its containers."""

    file: Path  # the grader's effective compose file (JSON)
    project: str
    timeout_s: float
    compose: LimitedCompose = field(init=False)
    built: bool = False
    started: bool = False
    # Volumes an image's VOLUME made for a container: not named in the file, so `down --volumes` misses
    # those of containers an earlier `down` removed. Remembered here and removed at teardown.
    anonymous_volumes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.compose = LimitedCompose(context=str(self.file.parent), compose_file_name=str(self.file), build=False,
                                      wait=True, keep_volumes=False, timeout_s=self.timeout_s)

    def run(self, *args: str, timeout_s: float | None = None) -> str:
        """One `docker compose` command on this stack; its stdout. Raises StackCommandFailed."""
        saved = self.compose.timeout_s
        self.compose.timeout_s = timeout_s or saved
        try:
            proc = self.compose._run_command([*self.compose.docker_compose_command(), *args])
        finally:
            self.compose.timeout_s = saved
        return proc.stdout.decode(errors="replace")

    def build(self, timeout_s: float) -> float:
        started = time.monotonic()
        self.built = True
        self.run("build", timeout_s=timeout_s)
        return time.monotonic() - started

    def up(self, wait_s: float, *services: str, scale: dict[str, int] | None = None) -> float:
        """`up --wait`: returns once every service is running and those with a healthcheck are healthy."""
        started = time.monotonic()
        self.started = True
        scaling = [f"--scale={name}={n}" for name, n in (scale or {}).items()]
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
        """Run a command in the service's container; (exit code, output). A command that hangs is cut off."""
        container_id = self.container(service)["Id"]
        api = engine.client().api
        try:
            exec_id = api.exec_create(container_id, ["timeout", "-s", "KILL", str(int(timeout_s)), *argv], user=user or "")
            output = api.exec_start(exec_id)
            code = api.exec_inspect(exec_id).get("ExitCode")
        except docker.errors.APIError as exc:
            return 126, str(exc.explanation or exc)
        return int(code if code is not None else 1), output.decode(errors="replace")

    def port(self, service: str, target: int) -> int | None:
        """The host port (on 127.0.0.1) the grader's run published for a service's container port."""
        ports = (self.container(service).get("NetworkSettings") or {}).get("Ports") or {}
        for binding in ports.get(f"{target}/tcp") or []:
            if binding.get("HostPort"):
                return int(binding["HostPort"])
        return None

    def health(self, service: str) -> tuple[str, str]:
        """(status, the last probe's output) of the service's newest container; status "none" without a healthcheck."""
        state = self.container(service).get("State") or {}
        health = state.get("Health")
        if not health:
            return ("running" if state.get("Running") else state.get("Status", "unknown")), ""
        log = health.get("Log") or []
        return health.get("Status", "unknown"), (log[-1].get("Output", "").strip()[-300:] if log else "")

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
