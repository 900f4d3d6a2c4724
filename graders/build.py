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
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import docker.errors

from graders import engine
from graders.dockerfile_model import parse_dockerfile
from graders.errors import BuildEngineFault, BuildFailed, BuildNetworkFault, GraderError
from graders.limits import Limits
from graders.network_faults import NetworkFault, network_fault, no_versions_hint, retry_pauses
from graders.package_cache import service as package_cache
from graders.staging import sent_paths
from graders.watch import LOG_TAIL_LINES, Watched, run_watched

MAX_CONTEXT_BYTES = 300 * 1024 * 1024


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    tag: str
    seconds: float
    log_tail: str
    builder: str  # "legacy" or "buildkit"
    log: str = ""  # the whole log, kept only when asked for (full_log=True)
    note: str = ""  # what the learner should know about how it was built (e.g. an offline frontend)


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


def context_size(folder: Path, limit: int = MAX_CONTEXT_BYTES, dockerfile: str = "Dockerfile") -> int:
    """Bytes the build would send, honouring the ignore file that applies, counting no further than just past
    the limit. A learner's data folder listed there does not count: that is exactly what it is for.
    """
    total = 0
    for rel in sent_paths(folder, dockerfile):
        path = folder / rel
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            if total > limit:
                break
    return total


def _bases(dockerfile: Path) -> list[str]:
    """The images a Dockerfile's stages start FROM (not its own stages); none when it cannot be read here."""
    try:
        stages = parse_dockerfile(dockerfile).stages
    except GraderError:
        return []
    names = {stage.name for stage in stages if stage.name}
    return [stage.base for stage in stages if stage.base not in names]


def _failure_summary(lines: list[str]) -> str:
    for line in reversed(lines):
        if "returned a non-zero code" in line or "did not complete successfully" in line:
            return line.strip()
        if line.startswith(("COPY failed", "ADD failed", "failed to", "ERROR:", "error", "Error")):
            return line.strip()
    return lines[-1].strip() if lines else "the build stopped without output"


def _noise(line: str) -> bool:
    """The CLI's own notices (the legacy builder's deprecation, buildx missing): not the learner's build."""
    return ("DEPRECATED" in line or "legacy builder is deprecated" in line or "BuildKit component" in line
            or "buildx component" in line or "Install the buildx" in line or "https://docs.docker.com/go/buildx" in line
            or "BuildKit is currently disabled" in line or line.strip() == "environment-variable.")


def build_image(context: Path, dockerfile: Path, tag: str, labels: dict[str, str], timeout_s: float,
                buildkit: bool = False, memory_bytes: int | None = None, limits: Limits | None = None,
                on_line: Callable[[str], None] | None = None, full_log: bool = False,
                stall_s: float | None = None, cgroup_parent: str | None = None,
                extra_flags: Sequence[str] = ()) -> BuildResult:
    """Build, or raise BuildFailed/BuildTimedOut/BuildStalled carrying the tail of the log.

    Two budgets (graders/watch.py): timeout_s for the whole build, and stall_s (default: the limits'
    build_stall_s) without any output line, so a step that hangs is stopped long before the first one.
    cgroup_parent: where the build's steps run, a fence with the build's limits (graders/build_fence.py).
    extra_flags: what a compose service's `build:` asks for (compose_build_flags).
    """
    size = context_size(context, dockerfile=dockerfile.name)
    if size > MAX_CONTEXT_BYTES:
        raise BuildFailed(
            f"The build context ({context}) holds more than {MAX_CONTEXT_BYTES // 2**20} MB.",
            "Add data, model files and .git to .dockerignore: they do not belong in the image.")
    legacy_note = ""
    if not buildkit:
        if engine.buildkit_by_default():
            buildkit = True  # the engine's own default, and what the lessons' messages are captured from
        else:
            legacy_note = (f"This Docker Engine ({engine.major_version()}.x) predates {engine.BUILDKIT_DEFAULT_FROM}.0, "
                           "where BuildKit became the default builder, so the grader used the legacy one.")
    client = build_client(buildkit)
    through_cache = package_cache.build_args(_bases(dockerfile)) if client.builder == "buildkit" else []
    with tempfile.TemporaryDirectory(prefix="mastery-build-") as tmp:
        iidfile = Path(tmp) / "iid"

        def attempt(file: Path, left: float, no_cache: bool = False) -> Watched:
            argv = [*client.argv, "-f", str(file), "-t", tag, "--iidfile", str(iidfile), *(["--no-cache"] * no_cache)]
            for key, value in labels.items():
                argv += ["--label", f"{key}={value}"]
            argv += build_limit_flags(client.builder, build_limits(limits, memory_bytes), cgroup_parent)
            argv += [*extra_flags, *through_cache]
            argv.append(str(context))
            return run_watched(argv, env={**os.environ, **engine.address().env(), **client.env}, cwd=None, timeout_s=left,
                               stall_s=(limits or Limits()).build_stall_s if stall_s is None else stall_s,
                               on_line=on_line, keep=None if full_log else 200, ignore=_noise)

        deadline = time.monotonic() + timeout_s
        file, note = dockerfile, ""
        watched = attempt(file, timeout_s)
        if client.builder == "buildkit" and watched.returncode != 0 and (image := _unreachable_frontend(watched.lines)):
            # Offline, BuildKit cannot fetch the frontend a `# syntax=` line names; its own built-in one reads the
            # same Dockerfile (cache mounts and all), so the build is not the learner's failure.
            file = _without_syntax_line(dockerfile, Path(tmp))
            watched = attempt(file, max(1.0, deadline - time.monotonic()))
            note = (f" The `# syntax=` line names the Dockerfile frontend {image}, which cannot be fetched here "
                    "(no registry answers), so the engine's built-in frontend read the Dockerfile.")
        watched, fault, tries = _retried_on_network_faults(watched, lambda left: attempt(file, left), deadline, on_line)
        def again_from_scratch(left: float) -> Watched:
            """A try that lost a layer may still have named an image: removed, so no image is left dangling."""
            with contextlib.suppress(docker.errors.APIError):
                engine.client().images.remove(tag, noprune=True)
            return attempt(file, left, no_cache=True)

        watched, lost, lost_tries = _retried_on_lost_layers(watched, again_from_scratch, deadline, on_line)
        lines = watched.lines
        log_tail = "\n".join(lines[-LOG_TAIL_LINES:])
        if watched.returncode != 0 or not iidfile.exists():
            log_tail = failed_step_tail(lines) or log_tail
            summary = _failure_summary(lines)
            if lost is not None:
                raise BuildEngineFault(
                    f"The build failed {lost_tries} times because the engine lost part of an image ({lost}) while it "
                    "wrote the image, not because of the Dockerfile.",
                    "This is not your work's fault: run the check again. It happens when images that share layers "
                    "are built and removed at the same moment.", log_tail=log_tail)
            if fault is not None and fault.certain:
                raise BuildNetworkFault(
                    f"The build failed {tries} times because the network did, not the Dockerfile: {fault.describe()}",
                    "This is not your work's fault: check your network (or proxy) and run the check again.",
                    log_tail=log_tail)
            chosen = build_limits(limits, memory_bytes)
            hint = ((no_versions_hint(fault, tries) if fault is not None else None)
                    or killed_step_hint(summary, chosen, client.builder)
                    or (out_of_processes_hint(chosen) if cgroup_parent and _fork_failed(lines) else None)
                    or "Read the last lines of the build log: the failing step is the one just above the error.")
            raise BuildFailed(f"The build failed: {summary}{note}", hint, log_tail=log_tail)
        image_id = iidfile.read_text().strip()
    return BuildResult(image_id=image_id, tag=tag, seconds=watched.seconds, log_tail=log_tail, builder=client.builder,
                       log="\n".join(lines) if full_log else "", note=(note.strip() or legacy_note))


F = TypeVar("F")


def _built_again_while(watched: Watched, find: Callable[[list[str]], F | None],
                       pauses: Callable[[F], Sequence[float]], say: Callable[[F, float], str],
                       again: Callable[[float], Watched], deadline: float,
                       on_line: Callable[[str], None] | None) -> tuple[Watched, F | None, int]:
    """Build again, after each of `pauses`, while a failed try's log shows what `find` looks for and time is
    left. Returns the last try, what it showed (None when it built or failed for another reason) and how many
    tries were made."""
    tries = 1
    while watched.returncode != 0 and (found := find(watched.lines)) is not None:
        waits = pauses(found)
        if tries > len(waits) or deadline - time.monotonic() < waits[tries - 1] + MIN_RETRY_S:
            return watched, found, tries
        if on_line is not None:
            on_line(say(found, waits[tries - 1]))
        time.sleep(waits[tries - 1])
        watched = again(deadline - time.monotonic())
        tries += 1
    return watched, None, tries


def _retried_on_network_faults(watched: Watched, again: Callable[[float], Watched], deadline: float,
                               on_line: Callable[[str], None] | None) -> tuple[Watched, NetworkFault | None, int]:
    """Build again while the failed step shows a network fault (graders/network_faults.py). Layers that built
    are cached, so a new try repeats only the failed step."""
    return _built_again_while(
        watched, network_fault, retry_pauses,
        lambda fault, pause: f"The network failed during the build ({fault.describe()}); building again in {pause:.0f} s.",
        again, deadline, on_line)


LOST_LAYER = re.compile(r"failed to get (?:layer (sha256:[0-9a-f]{12})[0-9a-f]*: layer does not exist"
                        r"|digest (sha256:[0-9a-f]{12})[0-9a-f]*: open \S*/imagedb/content/\S*: no such file)"
                        r"|failed to solve: layer does not exist")  # the third spelling names nothing
LOST_LAYER_PAUSES_S = (0.0, 0.0)  # three tries in all; nothing to wait for


def _retried_on_lost_layers(watched: Watched, again: Callable[[float], Watched], deadline: float,
                            on_line: Callable[[str], None] | None) -> tuple[Watched, str | None, int]:
    """Build again while the engine lost a layer or an image config as it wrote the image (moby's race: another
    image's removal took what this export reused, seen when a cohort's alike submissions build and clean up at
    once; 1 build in 240 when four threads built and removed alike images). `again` builds without the cache:
    the builder's cache still points at what was lost (in make test three tries within a second lost the same
    layer), and a build from scratch writes it anew. What it showed is the short id of what was lost ("a layer"
    where the log names none)."""
    return _built_again_while(
        watched, _lost_layer, lambda _: LOST_LAYER_PAUSES_S,
        lambda lost, _: f"The engine lost {lost} while it wrote the image; building again without the cache.",
        again, deadline, on_line)


def _lost_layer(lines: list[str]) -> str | None:
    found = next((m for line in reversed(lines[-20:]) if (m := LOST_LAYER.search(line))), None)
    return (found.group(1) or found.group(2) or "a layer") if found else None


MIN_RETRY_S = 30.0  # a new try needs at least this much of the build's time left to be worth starting

BUILDKIT_STEP_ERROR = re.compile(r"^#(\d+) ERROR: ")
BUILDKIT_STEP_TIME = re.compile(r"^#\d+ (?:\d+\.\d+ )?")


def failed_step_tail(lines: list[str]) -> str | None:
    """BuildKit's log ends with a copy of the Dockerfile around the failing line, which can push the step's own
    error (pip's `error: externally-managed-environment`, 20 lines above) out of the tail. The failing step's
    output instead, without the step numbers and timestamps, then the final error line; None for the legacy
    builder's log, whose last lines are already the step's."""
    failed = next((m.group(1) for line in reversed(lines) if (m := BUILDKIT_STEP_ERROR.match(line))), None)
    if failed is None:
        return None
    step = [BUILDKIT_STEP_TIME.sub("", line, count=1) for line in lines if line.startswith(f"#{failed} ")]
    final = next((line for line in reversed(lines) if line.startswith("ERROR: ")), None)
    return "\n".join([*step[-(LOG_TAIL_LINES - 1):], *([final] if final else [])])


UNREACHABLE_FRONTEND = re.compile(r"resolve (?:image config|source metadata) for (\S*docker/dockerfile[^\s:]*(?::[\w.-]+)?)")


def _unreachable_frontend(lines: list[str]) -> str | None:
    """The frontend image a failed BuildKit build could not fetch, when that is why it failed (its last line
    names the frontend image too); None for any other failure."""
    last = next((line for line in reversed(lines) if line.strip()), "")
    if "docker/dockerfile" not in last:
        return None
    return next((m.group(1) for line in lines if (m := UNREACHABLE_FRONTEND.search(line))), None)


def _without_syntax_line(dockerfile: Path, folder: Path) -> Path:
    """A copy of the Dockerfile (and its own ignore file) with the `# syntax=` line blanked, so line numbers
    in messages stay the learner's."""
    lines = dockerfile.read_text().splitlines(keepends=True)
    lines = ["#\n" if i == next((j for j, line in enumerate(lines) if line.strip()), 0) else line
             for i, line in enumerate(lines)]
    copy = folder / dockerfile.name
    copy.write_text("".join(lines))
    own_ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    if own_ignore.is_file():
        shutil.copyfile(own_ignore, folder / own_ignore.name)
    return copy


# Containment of the build itself (issue 10). What each builder honours was measured on Engine 20.10
# (Debian's, the course's host engine) and on Engine 28.5 with buildx 0.29 and Compose 2.40;
# tests/test_containment_build.py keeps the legacy builder's limits and BuildKit's lack of them proven.
CPU_PERIOD_US = 100_000  # the CFS period the CPU quota is given in (the kernel's default)


def build_limits(limits: Limits | None, memory_bytes: int | None = None) -> Limits:
    """The limits a build runs under: the lab's, else the defaults, so that no build runs unlimited.
    `memory_bytes`, what callers passed before they passed Limits, overrides the memory limit."""
    chosen = limits if limits is not None else Limits()
    return replace(chosen, memory_bytes=memory_bytes) if memory_bytes else chosen


def build_limit_flags(builder: str, limits: Limits, cgroup_parent: str | None = None) -> list[str]:
    """The `docker build` flags that hold a build's RUN steps to `limits`, for the builder that runs them.

    The legacy builder runs each RUN step in a container with the memory and CPU limits given here: a
    memory hog is killed (exit 137), and a fork bomb runs out of memory (about 4,250 forked Python
    processes fit in 1 GiB; 1,500 do not fit in 64 MiB). `docker build` has no process limit, and
    `--ulimit nproc` is none: the kernel exempts root from it, and for any other user it counts every
    process of that uid on the machine (a learner's desktop session too), so it would fail honest builds.
    BuildKit takes no memory, CPU or process limit from the client: Engine 20.10 ignores every flag here
    and --ulimit, --shm-size and --cgroup-parent as well; Engine 28 honours --ulimit, --shm-size and
    --cgroup-parent only. `--cgroup-parent` is what holds processes (and BuildKit's memory from Engine 23)
    where the engine can nest the steps in a limited fence (graders/build_fence.py); elsewhere a BuildKit
    build's walls are its time limits (graders/watch.py) and whatever the engine itself is given.
    """
    fence = ["--cgroup-parent", cgroup_parent] if cgroup_parent else []
    if builder != "legacy":
        return fence
    memory = str(limits.memory_bytes)
    quota = max(1_000, limits.nano_cpus * CPU_PERIOD_US // 1_000_000_000)
    return ["--memory", memory, "--memory-swap", memory,  # swap equal to memory: none; a hog is stopped, not slowed
            "--cpu-period", str(CPU_PERIOD_US), "--cpu-quota", str(quota), *fence]


def compose_build_flags(build: Mapping[str, Any]) -> list[str]:
    """The `docker build` flags for what a compose service's `build:` says, in the keys the allow-list admits
    (graders/compose_policy.py); a build argument without a value is left to the Dockerfile's default."""
    flags: list[str] = []
    for key, value in (build.get("args") or {}).items():
        if value is not None:
            flags += ["--build-arg", f"{key}={value}"]
    if build.get("target"):
        flags += ["--target", str(build["target"])]
    if build.get("no_cache"):
        flags.append("--no-cache")
    if build.get("pull"):
        flags.append("--pull")
    if build.get("shm_size"):
        flags += ["--shm-size", str(build["shm_size"])]
    if build.get("network") == "none":
        flags += ["--network", "none"]
    return flags


def killed_step_hint(summary: str, limits: Limits, builder: str) -> str | None:
    """The hint for a build whose RUN step was killed (exit code 137), None for any other failure: under
    the legacy builder that is the build's memory limit, which a learner cannot see in the log."""
    if not re.search(r"(non-zero code|exit code):? 137\b", summary):
        return None
    if builder != "legacy":
        return ("A RUN step was killed (exit code 137): the machine ran out of memory. Install fewer or smaller "
                "packages in one step (pip install --no-cache-dir), and make sure no RUN starts processes without end.")
    return (f"A RUN step was killed (exit code 137): it needed more than the {limits.memory_bytes // 2**20} MB of memory "
            "a build step may use here, or started processes without end. Install fewer or smaller packages in one "
            "step (pip install --no-cache-dir), and make sure no RUN starts processes in a loop.")


FORK_FAILED = re.compile(r"Resource temporarily unavailable|[Cc]an(no|')t fork|fork: retry")


def _fork_failed(lines: list[str]) -> bool:
    return any(FORK_FAILED.search(line) for line in lines[-LOG_TAIL_LINES:])


def out_of_processes_hint(limits: Limits) -> str:
    """The hint for a fenced build whose step could not start a process: the build's process limit, which
    the log only shows as the system's EAGAIN."""
    return (f"A RUN step could not start a process (\"Resource temporarily unavailable\"): a build may run "
            f"{limits.build_pids} processes here, all its steps together. Look for a step that starts processes in "
            "a loop, or a tool started with far more parallel jobs than it needs (make -j, pip's build workers).")
