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
import time
from collections.abc import Iterator

from graders import engine, runs

CACHE_MOUNTS = "cache-mounts"
# A grading's builds and the checks that rebuild (the layer cache, cache mounts) hold this shared; pruning the
# engine's BuildKit cache (graders/disk_budget.py) waits for it exclusively, or is put off: a prune between
# another grading's build and its rebuild would fail that learner's cache check.
BUILD_CACHE = "build-cache"

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
        fd = _lock_file(name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            depth[key] = 1
            try:
                yield
            finally:
                depth[key] = 0
        finally:
            os.close(fd)  # closing drops the flock


def _lock_file(name: str) -> int:
    digest = hashlib.sha256(engine.address().url.encode()).hexdigest()[:16]
    return os.open(runs.runs_dir() / f".lock-{name}-{digest}", os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def shared(name: str) -> Iterator[None]:
    """Hold the engine's lock `name` with others who hold it shared; never while one holds it exclusively
    (`exclusive_within`). Each hold opens the lock file anew, so holds in threads of one process count apart."""
    fd = _lock_file(name)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_within(name: str, seconds: float) -> Iterator[bool]:
    """Try for `seconds` to hold `name` alone (no shared holder either); yields whether it got it."""
    fd = _lock_file(name)
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                got = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    got = False
                    break
                time.sleep(0.2)
        yield got
    finally:
        os.close(fd)
