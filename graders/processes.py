"""Which process a container exists for, and what /proc says of it: asked the same way of a Dockerfile lab's
container and of a stack's service, so "runs as root?" has one answer for both."""

from __future__ import annotations

import re
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
    """PID 1, or its first child when PID 1 is a reaper; but a process started under it that runs as root
    when that one does not. Read from /proc (any user may), so an entrypoint that starts as root and hands
    over to another user (gosu, setpriv, su-exec) is judged by the user the app ends up running as, not by
    the image's USER; and a root daemon left behind a harmless non-root PID 1 is found. None where the
    image has no `cat`."""
    first = _read_status(run, 1)
    if first is None:
        return None
    chosen = first
    if first.name in REAPERS:
        code, children = run(["cat", "/proc/1/task/1/children"])
        if code == 0 and children.split():
            chosen = _read_status(run, int(children.split()[0])) or first
    if chosen.uid == "0":
        return chosen
    root = next((p for p in _started_under_pid_1(run) if p.uid == "0"), None)
    return root or chosen


def _read_status(run: Exec, pid: int) -> AppProcess | None:
    """The process's /proc status, read again once when it came back without its Uid line (every status has
    one; must not read as "runs as uid ?"). The loss seen on a loaded engine was the exec reader's, fixed in
    exec_probe.start_and_read; engines reached over ssh still read through docker-py. None when unreadable."""
    for _ in range(2):
        code, status = run(["cat", f"/proc/{pid}/status"])
        if code != 0:
            return None
        fields = status_fields(status)
        if len(fields.get("Uid", "").split()) > 1:
            return AppProcess(pid, fields)
    return None


def _started_under_pid_1(run: Exec) -> list[AppProcess]:
    """Every process descended from PID 1 (not PID 1 itself), from the container's /proc. What `docker exec`
    starts (the grader's probes, HEALTHCHECK commands) has parent 0 and is not among them. Empty where the
    image has no `ls`."""
    code, listing = run(["ls", "/proc"])
    if code != 0:
        return []
    pids = [name for name in listing.split() if name.isdigit() and name != "1"]
    if not pids:
        return []
    _, text = run(["cat", *(f"/proc/{pid}/status" for pid in pids)])  # one that ended meanwhile: cat goes on
    found: dict[int, AppProcess] = {}
    for block in re.split(r"(?m)^(?=Name:)", text):
        fields = status_fields(block)
        if fields.get("Pid", "").isdigit() and fields.get("PPid", "").isdigit():
            found[int(fields["Pid"])] = AppProcess(int(fields["Pid"]), fields)
    parent = {pid: int(p.fields["PPid"]) for pid, p in found.items()}

    def under_pid_1(pid: int) -> bool:
        seen: set[int] = set()
        while pid in parent and pid not in seen:
            seen.add(pid)
            pid = parent[pid]
        return pid == 1

    return [p for pid, p in sorted(found.items()) if under_pid_1(pid)]


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
