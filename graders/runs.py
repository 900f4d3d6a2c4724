"""Which grading runs are in flight, so that what a killed run left behind is swept, and nothing else is.

A run's `finally` removes what it made, on an error, on Ctrl-C, and on SIGTERM/SIGHUP (turned into an
exception here, `signals_interrupt`). Nothing runs after SIGKILL or a power cut: its containers, images,
networks and volumes stay. So each run registers: a lock file per run id under `runs_dir()`, held with
flock for the run's lifetime. The kernel drops the lock when the process dies, however it dies: a lock
file that nobody holds is a run whose owner is gone, and the next grading run's start (or `mastery
clean`) removes its objects. A run whose lock is held is in flight, whoever holds it (another process,
another thread of this one), and is never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import docker.errors

from graders import engine
from graders.course_engine import places
from graders.errors import Interrupted
from graders.labels import is_run_id, owner

log = logging.getLogger("graders")

SUFFIX = ".lock"


def runs_dir() -> Path:
    """The registry: MASTERY_RUNS_DIR, else ~/.cache/mastery/runs (it outlives a reboot, as the engine's
    objects do; $XDG_RUNTIME_DIR would forget the runs a crash left), else a folder in the temp dir."""
    if override := os.environ.get("MASTERY_RUNS_DIR"):
        candidates = [Path(override)]
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        candidates = [cache / "mastery" / "runs", Path(tempfile.gettempdir()) / f"mastery-{os.getuid()}" / "runs"]
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    raise OSError(f"no writable folder for the registry of grading runs (tried {', '.join(map(str, candidates))})")


@dataclass
class Registration:
    """One run's lock, held while it is in flight. `done()` once its teardown finished: the lock file goes;
    otherwise it stays behind, unlocked, for the next sweep."""

    run_id: str
    path: Path | None  # None: the registry could not be written; the run goes on unregistered
    fd: int | None
    finished: bool = False

    def done(self) -> None:
        self.finished = True


def register(run_id: str) -> Registration:
    """Take the lock of a new run. The file is locked before it gets its name, so no sweep ever sees it unlocked."""
    if not is_run_id(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    try:
        folder = runs_dir()
        temp = folder / f".{run_id}.new"
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{owner()} pid {os.getpid()}\n".encode())
        path = folder / f"{run_id}{SUFFIX}"
        os.rename(temp, path)
    except OSError as exc:
        log.debug("run %s is not registered: %s", run_id, exc)
        return Registration(run_id, None, None)
    return Registration(run_id, path, fd)


def release(registration: Registration) -> None:
    """End the registration: remove the lock file if the run cleaned up after itself, then drop the lock."""
    if registration.fd is None:
        return
    try:
        if registration.finished and registration.path is not None:
            with contextlib.suppress(FileNotFoundError):
                registration.path.unlink()  # while still locked: no sweep takes it for stale in between
    finally:
        os.close(registration.fd)
        registration.fd = None


@contextlib.contextmanager
def registered(run_id: str) -> Iterator[Registration]:
    registration = register(run_id)
    try:
        yield registration
    finally:
        release(registration)


@contextlib.contextmanager
def _stale_lock(path: Path) -> Iterator[bool]:
    """Lock a registry file if nobody holds it; yields whether it did (its run's owner is gone)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False  # held: in flight
            return
        yield True
    finally:
        os.close(fd)


def _entries() -> list[tuple[str, Path]]:
    try:
        folder = runs_dir()
    except OSError:
        return []
    found = []
    for path in folder.iterdir():
        name = path.name
        if name.endswith(SUFFIX) and is_run_id(name[:-len(SUFFIX)]):
            found.append((name[:-len(SUFFIX)], path))
        elif name.startswith(".") and name.endswith(".new") and is_run_id(name[1:-4]) and _age(path) > 60:
            found.append(("", path))  # a registration that died between create and rename: nothing ran
    return found


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def in_flight() -> set[str]:
    """The registered runs whose lock is held by a living process (this one included)."""
    held = set()
    for run_id, path in _entries():
        if run_id:
            with _stale_lock(path) as stale:
                if not stale and path.exists():
                    held.add(run_id)
    return held


def sweep_stale() -> engine.SweepCount:
    """Remove the objects of every registered run whose owner is gone, and its lock file. Runs in flight
    (lock held) are not looked at. Returns what it removed."""
    total = engine.SweepCount(0, 0, 0, 0)
    for run_id, path in _entries():
        with _stale_lock(path) as stale:
            if not stale:
                continue
            if run_id:
                total = _add(total, engine.sweep(run_id))  # raises on an engine error: the file stays for next time
                _remove_scratch(run_id)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return total


def _remove_scratch(run_id: str) -> None:
    """The staged copy and volume folder a killed run left under the temporary folder (labels.scratch_prefix).
    A volume folder may hold files the container's user wrote; as root they go, else what can be removed does."""
    for root in (Path(tempfile.gettempdir()), places.shared_dir()):
        for folder in root.glob(f"mastery-*-{run_id}-*"):
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)


def sweep_stale_quietly() -> None:
    """sweep_stale at the start of a grading run: a failure here must not cost the learner's run."""
    try:
        removed = sweep_stale()
    except (docker.errors.DockerException, OSError) as exc:
        log.debug("sweeping stale runs failed: %s", exc)
        return
    if removed.total:
        log.info("removed %d objects that killed grading runs had left", removed.total)


@dataclass(frozen=True)
class CleanResult:
    removed: engine.SweepCount
    in_flight: int  # runs left alone: their lock is held
    others: int  # runs left alone: made by another user or machine, whose runs in flight this one cannot see


def clean(all_owners: bool = False) -> CleanResult:
    """`mastery clean`: stale runs, then everything any grading run left, except the runs in flight."""
    sweep_stale()
    busy = in_flight()
    me = owner()
    foreign = set() if all_owners else {
        run for run, owners in engine.run_owners().items() if owners and me not in owners and run not in busy}
    removed = engine.sweep(spare=busy | foreign)
    return CleanResult(removed=removed, in_flight=len(busy), others=len(foreign))


def _add(a: engine.SweepCount, b: engine.SweepCount) -> engine.SweepCount:
    return engine.SweepCount(a.containers + b.containers, a.images + b.images, a.volumes + b.volumes,
                             a.networks + b.networks)


# Signals. SIGTERM (a `kill`, a stopped container, a job scheduler's time limit) and SIGHUP (the terminal
# closed) end a run as Ctrl-C does: an exception that unwinds through the run's `finally`.

class _Signals:
    caught: str = ""  # the signal that interrupted this grading, once one did
    shield: int = 0  # > 0 while a teardown runs: the signal waits until it is done
    pending: bool = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _Signals.caught:
        return  # already unwinding: a second SIGTERM must not cut the teardown short
    _Signals.caught = signal.Signals(signum).name
    if _Signals.shield:
        _Signals.pending = True
        return
    raise Interrupted(_Signals.caught)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """For its duration, SIGTERM and SIGHUP raise Interrupted (a KeyboardInterrupt) in the main thread;
    the old handlers come back after. Elsewhere than in the main thread, Python allows no handlers: no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = (signal.SIGTERM, signal.SIGHUP)
    old = {sig: signal.getsignal(sig) for sig in wanted}
    _Signals.caught, _Signals.shield, _Signals.pending = "", 0, False
    for sig in wanted:
        signal.signal(sig, _on_signal)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        _Signals.caught, _Signals.shield, _Signals.pending = "", 0, False


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """A teardown in here finishes even if SIGTERM/SIGHUP arrives; the interruption is raised right after."""
    _Signals.shield += 1
    try:
        yield
    finally:
        _Signals.shield -= 1
    if not _Signals.shield and _Signals.pending:
        _Signals.pending = False
        raise Interrupted(_Signals.caught)
