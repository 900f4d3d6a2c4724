"""A fence around a build: a limited container whose cgroup the build's steps run inside.

`docker build` takes no process limit, and BuildKit takes none of memory or CPU either, but both builders
place their step containers under `--cgroup-parent`. A cgroup's limits hold for everything below it, so the
grader starts a small idle container with the build's limits (memory, processes, CPU) and names that
container's own cgroup as the parent: every RUN step, together, stays within the fence.

Nesting works where the engine manages cgroups itself on cgroup v1 (the `cgroupfs` driver: Debian's engine
started by the course's scripts, and a course engine in a container). Under the systemd driver a parent must
be a slice, and on cgroup v2 a cgroup that holds a process cannot host limited children: there the fence is
not used, and the build keeps the limits each builder takes from the command line (graders/build.py).
Which builder honours the parent: the legacy builder on every engine measured; BuildKit from Engine 23
(20.10's ignores it, measured), which also counts it in every RUN step's cache key: on an engine that builds
with BuildKit the fence is not used (see `unsupported`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping

import docker.errors

from graders import engine, front
from graders.limits import Limits

IDLE = ["python", "-c", "import signal; signal.pause()"]  # holds the cgroup; any signal ends it


def unsupported() -> str | None:
    """Why this engine cannot nest a build's steps in a fence; None when it can."""
    return _unsupported(engine.address().url)


@functools.cache
def _unsupported(_url: str) -> str | None:
    """Asked once per engine: its cgroup driver and version do not change while it runs."""
    if engine.buildkit_by_default():
        # Measured on Engine 28: BuildKit counts --cgroup-parent in each RUN step's cache key, so a fence per build
        # (a new cgroup each time) would rebuild every layer every time. There every build is BuildKit's, and its
        # walls are its time limits and the limits of the engine itself (the course engine's container).
        return ("BuildKit, this engine's builder, counts the cgroup parent in its cache keys, so a fence per build "
                "would defeat the layer cache")
    info = engine.client().info()
    driver, version = info.get("CgroupDriver"), str(info.get("CgroupVersion") or "1")
    if driver != "cgroupfs" or version != "1":
        return f"the engine's cgroups ({driver} driver, cgroup v{version}) do not nest under a container's"
    return None


@contextlib.contextmanager
def fenced(labels: Mapping[str, str], limits: Limits) -> Iterator[str | None]:
    """The cgroup parent for one build's steps, inside a fence with the build's limits; None where the engine
    cannot nest them (see `unsupported`). The fence is removed when the block ends, however it ends."""
    if unsupported() is not None:
        yield None
        return
    client = engine.client()
    fence = client.containers.run(
        front.image(), IDLE, detach=True, labels=dict(labels), network_mode="none", user="65534:65534",
        read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"], mem_limit=limits.memory_bytes,
        memswap_limit=limits.memory_bytes, pids_limit=limits.build_pids, nano_cpus=limits.nano_cpus)
    try:
        yield cgroup_of(fence.id, fence.attrs)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            fence.remove(force=True, v=True)


def cgroup_of(container_id: str, attrs: Mapping[str, object]) -> str:
    """The cgroup (relative to each hierarchy's root) that the engine made for a container: its own parent
    (the engine's default, /docker, unless the container named one) and its ID."""
    host_config = attrs.get("HostConfig")
    parent = (host_config.get("CgroupParent") if isinstance(host_config, Mapping) else None) or "/docker"
    return f"{str(parent).rstrip('/')}/{container_id}"
