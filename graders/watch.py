"""Run a build command under two budgets: an overall deadline, and a stall limit (no output for too long).

A build that hangs (`RUN sleep 100000`, a prompt waiting for input, a server started in RUN) prints
nothing and finishes no step; waiting out the whole build limit for it (15 minutes) tells a learner
nothing for 15 minutes. The stall limit stops it early, and says which step it was on.

The command runs in a process group of its own with stdin from /dev/null. Stopping it sends SIGINT to
the group, as Ctrl-C would: the docker CLI (and `docker compose`) then cancel the build on the engine,
legacy or BuildKit; a step killed with the client instead would run on. SIGKILL only if it lingers.
Used by graders/build.py and by `docker compose build` (graders/stack.py).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from graders.errors import BuildStalled, BuildTimedOut
from graders.threads import in_this_context

LOG_TAIL_LINES = 25
STOP_GRACE_S = 10.0  # how long the CLI gets to cancel the build after SIGINT before it is killed
_EOF = object()

# A step starting: the legacy builder's "Step 2/3 : RUN …", BuildKit's "#5 [stage-0 2/2] RUN …"
# (compose's BuildKit: "#5 [web 2/2] RUN …").
_STEP = re.compile(r"^(?:Step \d+/\d+ : (?P<legacy>.+)|#\d+ \[(?P<where>[^\]]+)\] (?P<buildkit>.+))$")

HANG_HINT = ("A step that waits forever prints nothing: a server or `sleep` started in RUN, a command waiting for "
             "input (add `-y`, set DEBIAN_FRONTEND=noninteractive), a download that hangs. RUN steps must finish; "
             "a step that is slow but working should print progress.")


@dataclass(frozen=True)
class Watched:
    """How a watched command ended: its exit code and the lines it printed (the last `keep` of them)."""

    returncode: int
    lines: list[str]
    seconds: float


def last_step(lines: Sequence[str]) -> str:
    """The last build step the log shows starting, as the Dockerfile wrote it (empty when none)."""
    for line in reversed(lines):
        match = _STEP.match(line.strip())
        if match:
            return (match.group("legacy") or match.group("buildkit")).strip()
    return ""


def run_watched(argv: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None, timeout_s: float,
                stall_s: float, on_line: Callable[[str], None] | None = None, what: str = "The build",
                keep: int | None = 200, ignore: Callable[[str], bool] | None = None) -> Watched:
    """Run argv to its end, passing each output line (stdout and stderr merged) to on_line.

    Raises BuildTimedOut when it runs past timeout_s, BuildStalled when no line came for stall_s; either
    way the command has been stopped (its build cancelled) first, and the exception carries the log's
    tail. `ignore` drops noise lines (they still count as progress). `env` is the whole environment.
    Whatever ends the wait (an exception, a signal turned into one), the command does not outlive it.
    """
    started = time.monotonic()
    kept: deque[str] = deque(maxlen=keep)
    lines: queue.Queue[object] = queue.Queue()
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=dict(env), cwd=cwd, text=True, errors="replace", start_new_session=True)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.put(raw.rstrip("\n"))
        lines.put(_EOF)

    reader = threading.Thread(target=in_this_context(pump), name="watch-output", daemon=True)
    reader.start()

    def take(item: object) -> None:
        line = str(item)
        if ignore is not None and ignore(line):
            return
        kept.append(line)
        if on_line is not None:
            on_line(line)

    deadline = started + timeout_s
    last_line = started
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                _stop(proc)
                _drain(reader, lines, take)
                raise BuildTimedOut(
                    f"{what} was still running after {timeout_s:.0f} s and was stopped.",
                    "Look for a step that waits forever (a server started in RUN, a prompt waiting for input, "
                    "`sleep`), or a download that hangs; RUN steps must finish.",
                    log_tail=_tail(kept))
            if now - last_line >= stall_s:
                _stop(proc)
                step = last_step(kept)
                _drain(reader, lines, take)
                raise BuildStalled(
                    f"{what} showed no progress for {stall_s:.0f} s (no output, no step finished) and was stopped"
                    + (f"; its last step was: {step}" if step else "") + ".",
                    HANG_HINT, log_tail=_tail(kept), step=step)
            try:
                item = lines.get(timeout=max(0.01, min(deadline, last_line + stall_s) - now))
            except queue.Empty:
                continue
            if item is _EOF:
                break
            last_line = time.monotonic()
            take(item)
        # Output ended: the command is ending. It still owes its exit within the overall deadline.
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _stop(proc)
            raise BuildTimedOut(f"{what} was still running after {timeout_s:.0f} s and was stopped.",
                                "RUN steps must finish.", log_tail=_tail(kept)) from None
    finally:
        if proc.poll() is None:  # left by an exception from on_line, or by a signal turned into one
            _stop(proc)
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()
    return Watched(returncode=proc.returncode, lines=list(kept), seconds=time.monotonic() - started)


def _tail(kept: deque[str]) -> str:
    return "\n".join(list(kept)[-LOG_TAIL_LINES:])


def _drain(reader: threading.Thread, lines: queue.Queue[object], take: Callable[[object], None]) -> None:
    """Keep what the stopped command printed last (the CLI's own "cancelled" lines), without waiting long."""
    reader.join(timeout=5)
    while True:
        try:
            item = lines.get_nowait()
        except queue.Empty:
            return
        if item is not _EOF:
            take(item)


def _stop(proc: subprocess.Popen[str]) -> None:
    """Interrupt the group as Ctrl-C would: the CLI then cancels the build on the engine, legacy or BuildKit
    (a step killed with the client instead would run on). Kill the group only if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=STOP_GRACE_S)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE_S)
