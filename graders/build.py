"""Build a learner's image with a hard time limit, through the docker CLI.

The CLI is used rather than the SDK because it can build with BuildKit (the SDK only drives the
legacy builder) and because interrupting it cancels the build on the engine side. The legacy
builder is used unless the Dockerfile needs BuildKit (RUN --mount, heredocs, COPY --chmod/--link).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker.utils.build import exclude_paths

from graders.errors import BuildFailed, BuildTimedOut, GraderError

LOG_TAIL_LINES = 25
MAX_CONTEXT_BYTES = 300 * 1024 * 1024


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    tag: str
    seconds: float
    log_tail: str
    builder: str  # "legacy" or "buildkit"
    log: str = ""  # the whole log, kept only when asked for (full_log=True)


@dataclass(frozen=True)
class BuildClient:
    argv: tuple[str, ...]
    env: dict[str, str]
    builder: str


def _client_version(docker: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([docker, "version", "--format", "{{.Client.Version}}"], capture_output=True,
                             text=True, timeout=15).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    digits = re.findall(r"\d+", out)
    return tuple(int(d) for d in digits[:3])


@functools.cache
def build_client(buildkit: bool) -> BuildClient:
    """The docker CLI invocation that builds with the builder asked for."""
    docker = shutil.which("docker")
    if docker is None:
        raise GraderError("No `docker` command is on PATH.", "Install the Docker CLI (it comes with Docker Desktop/Engine).")
    if not buildkit:
        return BuildClient((docker, "build", "--force-rm"), {"DOCKER_BUILDKIT": "0"}, "legacy")
    buildx = subprocess.run([docker, "buildx", "version"], capture_output=True, timeout=15)
    if buildx.returncode == 0:
        return BuildClient((docker, "buildx", "build", "--load", "--progress=plain"), {}, "buildkit")
    # Clients before 23.0 carry BuildKit themselves (DOCKER_BUILDKIT=1); Debian's docker.io is one.
    for candidate in dict.fromkeys([docker, "/usr/bin/docker"]):
        version = _client_version(candidate) if os.path.exists(candidate) else ()
        if version and version[0] < 23:
            return BuildClient((candidate, "build", "--progress=plain"), {"DOCKER_BUILDKIT": "1"}, "buildkit")
    raise GraderError(
        "This Dockerfile needs BuildKit (it uses RUN --mount, a heredoc or COPY --chmod/--link) "
        "and no docker client here can build with it.",
        "Install the buildx plugin (package docker-buildx-plugin or docker-buildx), then run `mastery doctor`.",
    )


def context_size(folder: Path, limit: int = MAX_CONTEXT_BYTES) -> int:
    """Bytes the build would send, honouring .dockerignore, counting no further than just past the limit.

    A learner's data folder listed in .dockerignore does not count: that is exactly what it is for.
    """
    ignore = folder / ".dockerignore"
    patterns = [line.strip() for line in ignore.read_text(errors="replace").splitlines()
                if line.strip() and not line.lstrip().startswith("#")] if ignore.is_file() else []
    total = 0
    for rel in exclude_paths(str(folder), patterns):
        path = folder / rel
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            if total > limit:
                break
    return total


def _failure_summary(lines: list[str]) -> str:
    for line in reversed(lines):
        if "returned a non-zero code" in line or "did not complete successfully" in line:
            return line.strip()
        if line.startswith(("COPY failed", "ADD failed", "failed to", "ERROR:", "error", "Error")):
            return line.strip()
    return lines[-1].strip() if lines else "the build stopped without output"


def build_image(context: Path, dockerfile: Path, tag: str, labels: dict[str, str], timeout_s: float,
                buildkit: bool = False, memory_bytes: int | None = None,
                on_line: Callable[[str], None] | None = None, full_log: bool = False) -> BuildResult:
    """Build, or raise BuildFailed/BuildTimedOut carrying the tail of the log."""
    size = context_size(context)
    if size > MAX_CONTEXT_BYTES:
        raise BuildFailed(
            f"The build context ({context}) holds more than {MAX_CONTEXT_BYTES // 2**20} MB.",
            "Add data, model files and .git to .dockerignore: they do not belong in the image.")
    client = build_client(buildkit)
    with tempfile.TemporaryDirectory(prefix="mastery-build-") as tmp:
        iidfile = Path(tmp) / "iid"
        argv = [*client.argv, "-f", str(dockerfile), "-t", tag, "--iidfile", str(iidfile)]
        for key, value in labels.items():
            argv += ["--label", f"{key}={value}"]
        if memory_bytes and client.builder == "legacy":
            argv += ["--memory", str(memory_bytes), "--memory-swap", str(memory_bytes)]
        argv.append(str(context))
        started = time.monotonic()
        tail: deque[str] = deque(maxlen=None if full_log else 200)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **client.env}, text=True, errors="replace",
                                start_new_session=True)

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                if "DEPRECATED" in line or "legacy builder is deprecated" in line or "BuildKit component" in line \
                        or "buildx component" in line or "Install the buildx" in line or "https://docs.docker.com/go/buildx" in line:
                    continue
                tail.append(line)
                if on_line is not None:
                    on_line(line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            reader.join(timeout=5)
            raise BuildTimedOut(
                f"The build was still running after {timeout_s:.0f} s and was stopped.",
                "Look for a step that waits forever (a server started in RUN, a prompt waiting for input, "
                "`sleep`), or a download that hangs; RUN steps must finish.",
                log_tail="\n".join(list(tail)[-LOG_TAIL_LINES:]),
            ) from None
        finally:
            if proc.poll() is None:
                _stop(proc)
        reader.join(timeout=5)
        seconds = time.monotonic() - started
        lines = list(tail)
        log_tail = "\n".join(lines[-LOG_TAIL_LINES:])
        if proc.returncode != 0 or not iidfile.exists():
            raise BuildFailed(f"The build failed: {_failure_summary(lines)}",
                              "Read the last lines of the build log: the failing step is the one just above the error.",
                              log_tail=log_tail)
        image_id = iidfile.read_text().strip()
    return BuildResult(image_id=image_id, tag=tag, seconds=seconds, log_tail=log_tail, builder=client.builder,
                       log="\n".join(lines) if full_log else "")


def _stop(proc: subprocess.Popen[str]) -> None:
    """Interrupt the CLI as Ctrl-C would: it then cancels the build on the engine, legacy or BuildKit
    (a step killed with the client instead would run on). Kill the CLI only if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
