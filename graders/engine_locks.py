"""Work that must not overlap on one engine: BuildKit's cache mounts belong to the engine, not to a build,
so a grading that measures what they save (buildkit's cache_speeds_rebuild) is wrong while another build
fills or empties them (a Dockerfile that keeps apt's docker-clean, a prune). Gradings on one engine, in any
thread or process of this user, take turns at such work; other engines and other work go on."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator

from graders import engine, runs

CACHE_MOUNTS = "cache-mounts"

_held = threading.local()  # (engine url, name) -> depth: the lock is re-entrant within a thread
_in_process: dict[tuple[str, str], threading.Lock] = {}
_registry = threading.Lock()


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold the engine's lock called `name` for the block: a lock file beside the runs registry (between
    processes) and a lock per engine and name (between threads, which share the process's flock)."""
    key = (engine.address().url, name)
    depth: dict[tuple[str, str], int] = getattr(_held, "depth", None) or {}
    _held.depth = depth
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    with _registry:
        local = _in_process.setdefault(key, threading.Lock())
    with local:
        digest = hashlib.sha256(key[0].encode()).hexdigest()[:16]
        fd = os.open(runs.runs_dir() / f".lock-{name}-{digest}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            depth[key] = 1
            try:
                yield
            finally:
                depth[key] = 0
        finally:
            os.close(fd)  # closing drops the flock
