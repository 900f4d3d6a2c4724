"""Which process a container exists for, and what /proc says of it: asked the same way of a Dockerfile lab's
container and of a stack's service, so "runs as root?" has one answer for both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import docker.errors

from graders import engine

# Runs a command inside the container: (exit code, output).
Exec = Callable[[list[str]], tuple[int, str]]

# Inits that only start the app and reap children: the app is their child, and they may stay root (the
# gosu/setpriv pattern under `init: true` starts as root and drops privileges in the child).
REAPERS = ("docker-init", "tini", "dumb-init", "catatonit")


@dataclass(frozen=True)
class AppProcess:
    """The process the container exists for, as the container's own /proc shows it."""

    pid: int
    fields: dict[str, str]  # its /proc/PID/status: Name, Uid, CapEff, NoNewPrivs...

    @property
    def name(self) -> str:
        return self.fields.get("Name", "?")

    @property
    def uid(self) -> str:
        """The effective uid: what the process may do."""
        uids = self.fields.get("Uid", "").split()
        return uids[1] if len(uids) > 1 else "?"


def status_fields(text: str) -> dict[str, str]:
    return {key: value.strip() for key, _, value in (line.partition(":") for line in text.splitlines()) if value}


def app_process(run: Exec) -> AppProcess | None:
    """PID 1, or its first child when PID 1 is a reaper. Read from /proc (any user may), so an entrypoint
    that starts as root and hands over to another user (gosu, setpriv, su-exec) is judged by the user the
    app ends up running as, not by the image's USER. None where the image has no `cat`."""
    code, status = run(["cat", "/proc/1/status"])
    if code != 0:
        return None
    first = AppProcess(1, status_fields(status))
    if first.name not in REAPERS:
        return first
    code, children = run(["cat", "/proc/1/task/1/children"])
    if code != 0 or not children.split():
        return first
    pid = int(children.split()[0])
    code, status = run(["cat", f"/proc/{pid}/status"])
    return AppProcess(pid, status_fields(status)) if code == 0 else first


def app_uid(run: Exec, container_id: str) -> tuple[str, str] | None:
    """(effective uid, where it was seen) of the app: its /proc status; else `id -u` in the container (the
    user an exec gets: the image's USER); else the engine's process list, for an image with neither `cat`
    nor `id`. None when nothing answers (the container is gone)."""
    process = app_process(run)
    if process is not None:
        return process.uid, f"its process {process.name} (PID {process.pid})"
    code, out = run(["id", "-u"])
    if code == 0 and out.strip():
        return out.strip().splitlines()[-1], "`id -u` in the container"
    try:
        top = engine.client().api.top(container_id, ps_args="-o uid,pid")
    except docker.errors.APIError:
        return None
    rows = top.get("Processes") or []
    return (str(rows[0][0]), "the engine's process list") if rows else None
