"""A single-node swarm in the grading engine, for the length of one grading: made with `docker swarm init`,
a stack deployed into it with `docker stack deploy`, its services read and updated, and everything gone again
with `docker stack rm` and `docker swarm leave --force` (plus the `docker_gwbridge` network a swarm leaves).

Only on the course engine (or a spare one): swarm mode opens the cluster's ports on the engine's machine, and on
the learner's own engine it would tie up a swarm they may use for something else."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker.errors

from graders import engine, engine_locks
from graders.compose_model import compose_env
from graders.errors import GraderError

SWARM_LOCK = "swarm"  # one swarm grading at a time on an engine: a second `swarm init` would find the first's
GATEWAY_BRIDGE = "docker_gwbridge"  # made by the first task of a swarm, left behind by `swarm leave`
COMMAND_TIMEOUT_S = 120.0


class NotReady(Exception):
    """The engine cannot hold the grader's swarm now: the message says why and what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def run_docker(*args: str, timeout: float = COMMAND_TIMEOUT_S, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """A docker command on the grading engine, with the environment Compose commands get (nothing of the
    grader's own reaches a `${VAR}` in the learner's stack file)."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=compose_env())


def node_state() -> str:
    """`inactive`, `active`, `pending`, `error` or `locked`: the engine's swarm membership."""
    return str((engine.client().info().get("Swarm") or {}).get("LocalNodeState") or "inactive")


def readiness_problem(course_engine: bool) -> NotReady | None:
    """Why a grading cannot make its swarm in this engine, or None."""
    if not course_engine:
        return NotReady("The swarm lab runs only on the course engine: swarm mode would open the cluster's ports "
                        f"on the machine of the engine at {engine.address().url}.",
                        "Grade it on the course engine: `mastery engine start`, then `mastery check swarm` (without "
                        "MASTERY_ENGINE=host or --engine).")
    state = node_state()
    if state != "inactive":
        return NotReady(f"Your engine is already in swarm mode (its swarm state is `{state}`), and the grader makes a "
                        "swarm of its own to deploy your stack in.",
                        "Remove your stack and leave the swarm first: `docker stack rm iris`, then "
                        "`docker swarm leave --force`. If that fails, `mastery engine reset` starts the engine clean "
                        "(it removes its images and volumes too).")
    return None


DEFAULT_NETWORKS = {"bridge", "host", "none"}


def containers_on_own_networks() -> list[str]:
    """The running containers attached to a network someone made (a compose stack's, a `docker network create`'s).

    Measured on Engine 28.5.2: after `docker swarm init` and `docker swarm leave`, a container that was on such a
    network when the swarm was made no longer resolves any name there, not even its own, and keeps failing (65 s
    and counting); containers made afterwards resolve normally. So the grader makes its swarm only when no such
    container runs."""
    found = []
    for container in engine.client().api.containers(filters={"status": "running"}):
        networks = set((container.get("NetworkSettings") or {}).get("Networks") or {})
        if networks - DEFAULT_NETWORKS:
            found.append(str((container.get("Names") or ["?"])[0]).lstrip("/"))
    return sorted(found)


def busy_problem() -> NotReady | None:
    running = containers_on_own_networks()
    if not running:
        return None
    shown = ", ".join(f"`{name}`" for name in running[:5]) + (f" and {len(running) - 5} more" if len(running) > 5 else "")
    return NotReady(f"{len(running)} container(s) run on networks of your own in this engine: {shown}. Making and "
                    "leaving a swarm (which the grader does to deploy your stack) makes Docker Engine 28 lose their "
                    "names on those networks until they are recreated, so the grader does not start while they run.",
                    "Stop them first: `docker compose down` in their project's folder, or `docker stop NAME`; then "
                    "check again. Your stacks come back as they were with `docker compose up -d`.")


@contextlib.contextmanager
def swarm() -> Iterator[None]:
    """A swarm of one node for the block, under the engine's swarm lock; left, with its bridge, whatever happens.
    Raises NotReady, before making anything, while containers run on networks of the learner's."""
    with engine_locks.exclusive(SWARM_LOCK):
        problem = busy_problem()  # under the lock: another grading's swarm, waited for, has gone by now
        if problem is not None:
            raise problem
        made = run_docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377")
        if made.returncode != 0:
            raise GraderError(f"`docker swarm init` failed: {made.stderr.strip()[-400:]}",
                              "Run `mastery engine reset`, then check again.")
        try:
            yield
        finally:
            leave()


def leave() -> None:
    run_docker("swarm", "leave", "--force")
    with contextlib.suppress(docker.errors.APIError):  # NotFound, or in use by a container of the learner's
        engine.client().api.remove_network(GATEWAY_BRIDGE)


def deploy(stack_file: str, project: str, cwd: str) -> subprocess.CompletedProcess[str]:
    """`docker stack deploy` without asking a registry for digests: the images are the engine's own builds."""
    return run_docker("stack", "deploy", "--resolve-image", "never", "-c", stack_file, project, cwd=cwd)


def remove_stack(project: str, timeout_s: float = 60.0) -> None:
    """`docker stack rm`, then wait for its containers to go (their removal is asynchronous)."""
    run_docker("stack", "rm", project)
    deadline = time.monotonic() + timeout_s
    api = engine.client().api
    while time.monotonic() < deadline:
        if not api.containers(all=True, filters={"label": f"com.docker.stack.namespace={project}"}):
            return
        time.sleep(0.5)


@dataclass(frozen=True)
class Task:
    id: str
    state: str  # running, failed, shutdown, ...
    desired: str
    image: str  # the image the task's spec names
    container: str  # its container's id, "" before it has one
    error: str


def service(name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = engine.client().api.inspect_service(name)
        return found
    except docker.errors.NotFound:
        return None


def tasks(service_name: str) -> list[Task]:
    found = engine.client().api.tasks(filters={"service": service_name})
    return [Task(str(t.get("ID")), str((t.get("Status") or {}).get("State", "")), str(t.get("DesiredState", "")),
                 str(((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", "")),
                 str(((t.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID", "")),
                 str((t.get("Status") or {}).get("Err", ""))) for t in found]


def running(service_name: str) -> list[Task]:
    return [t for t in tasks(service_name) if t.state == "running" and t.desired == "running"]


def health(container_id: str) -> str:
    """The container's health status (`healthy`, `starting`, `unhealthy`), or `none` without a healthcheck."""
    try:
        state = engine.client().api.inspect_container(container_id).get("State") or {}
    except docker.errors.NotFound:
        return "gone"
    return str((state.get("Health") or {}).get("Status") or "none")


def update_state(service_name: str) -> str:
    """The service's UpdateStatus.State: updating, completed, paused, rollback_started, rollback_completed, ..."""
    found = service(service_name) or {}
    return str((found.get("UpdateStatus") or {}).get("State") or "")


def healthy_replicas(service_name: str) -> list[Task]:
    """The running tasks whose container is healthy (or has no healthcheck: running is all Swarm knows)."""
    return [t for t in running(service_name) if t.container and health(t.container) in ("healthy", "none")]


def wait_healthy(service_name: str, wanted: int, budget_s: float) -> list[Task]:
    """Wait up to `budget_s` for `wanted` healthy replicas; returns the healthy ones seen last."""
    deadline = time.monotonic() + budget_s
    while True:
        found = healthy_replicas(service_name)
        if len(found) >= wanted or time.monotonic() >= deadline:
            return found
        time.sleep(0.5)


def update_image(service_name: str, image: str) -> subprocess.CompletedProcess[str]:
    """Start a rolling update to `image` with the service's own update settings; returns at once."""
    return run_docker("service", "update", "--detach", "--no-resolve-image", "--image", image, service_name)


FINAL_STATES = ("completed", "paused", "rollback_completed", "rollback_paused")


def wait_update(service_name: str, budget_s: float) -> str:
    """The update's state once it ends (one of FINAL_STATES), or the state it is in when the budget runs out."""
    deadline = time.monotonic() + budget_s
    state = update_state(service_name)
    while state not in FINAL_STATES and time.monotonic() < deadline:
        time.sleep(0.5)
        state = update_state(service_name)
    return state
