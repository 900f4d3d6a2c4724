"""Lab specs and checks: what a lab asks for, and the small functions that judge it."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from graders.results import Category, Status

if TYPE_CHECKING:
    from graders.context import GradingContext

REPO_ROOT = Path(__file__).resolve().parent.parent


class Phase(enum.IntEnum):
    """When a check can run. A later phase only runs if the earlier ones got what they need."""

    STATIC = 0  # reads the submission only, no engine
    BUILD = 1  # needs the built image
    RUNTIME = 2  # needs the running container


@dataclass(frozen=True)
class Outcome:
    """What a check observed; the runner turns it into a CheckResult with points."""

    status: Status
    message: str
    hint: str = ""

    @classmethod
    def passed(cls, message: str) -> Outcome:
        return cls(Status.PASSED, message)

    @classmethod
    def failed(cls, message: str, hint: str) -> Outcome:
        return cls(Status.FAILED, message, hint)

    @classmethod
    def skipped(cls, reason: str) -> Outcome:
        return cls(Status.SKIPPED, reason)

    @classmethod
    def error(cls, message: str) -> Outcome:
        return cls(Status.ERROR, message, "This is a problem of the grader, not of your work: run `mastery doctor`.")


CheckFn = Callable[["GradingContext"], Outcome]


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    points: float
    category: Category
    phase: Phase
    run: CheckFn
    tags: tuple[str, ...] = ()
    reports: str = ""  # the blocker kind this check reports itself ("parse", "build") instead of being blocked by it
    # Asked first, before anything else: a reason this host cannot run the check (no GPU runtime, no
    # cluster) makes it `skipped`, whatever else happened. Skipped is never passed.
    skip_unless: Callable[[], str | None] | None = None


@dataclass(frozen=True)
class Limits:
    """What a learner's build and container may use. A submission is untrusted code."""

    build_timeout_s: float = 900.0  # a first build of a data-science image downloads hundreds of MB
    # A build with no output line (and so no step finished) for this long is stopped as hanging: a step
    # waiting forever is told within minutes, not after the whole build_timeout_s.
    build_stall_s: float = 120.0
    run_timeout_s: float = 120.0  # the whole runtime phase, from start to teardown
    health_budget_s: float = 60.0  # how long the container may take to become healthy / open its port
    memory_bytes: int = 1024 * 1024 * 1024
    pids: int = 256
    # Processes of a whole build, all its RUN steps together, where the engine can fence them (build_fence.py).
    build_pids: int = 512
    nano_cpus: int = 2_000_000_000
    health_interval_s: float = 0.1  # the interval the grader runs the learner's HEALTHCHECK with
    compose_health_interval_s: float = 0.5  # the same for a stack's services, which are more at once
    # What a run's builds may leave on disk as cache (graders/disk_budget.py). The biggest lab image measured
    # 1.0 GB (ds-stack's mlflow: its 987 MB base and one pip install); the most a lab's own steps add
    # above their base is 0.59 GB (slim-image's bloated original). 3 GiB keeps every lab's layers, and so
    # a second check's speed; an image adding more, or a failed build's step images over it, are removed.
    keep_cache_bytes: int = 3 * 2**30
    # The engine's whole BuildKit cache (every project's, not only grading's) is pruned to this, least
    # recently used first, when a run leaves it bigger: Docker Desktop's own default garbage collection
    # keeps 20 GB, so the grader never cuts below what the engine would keep anyway.
    keep_build_cache_bytes: int = 20 * 2**30
    max_replicas: int = 5  # a stack asking for more is refused; `--scale` by a check stays within it


@dataclass(frozen=True)
class LabSpec:
    id: str
    title: str
    lesson: str  # the page in course/, relative to it
    kind: str  # dockerfile | compose | engine-state | manifest | quiz
    files: tuple[str, ...]  # what the learner hands in
    base_images: tuple[str, ...]
    checks: tuple[Check, ...]
    folder: Path  # where the spec, solution and broken variants live
    port: int | None = 8080  # the port a server listens on; None for a batch job
    limits: Limits = field(default_factory=Limits)
    # "server": runs until stopped, judged through its port and health; "batch": runs to completion,
    # judged by its exit code and output.
    run_mode: str = "server"
    # Files the grader adds to its copy of the submission before building (e.g. a `.git` folder, which a
    # lab folder cannot carry), so that checks can see whether the build keeps them out.
    plant: tuple[tuple[str, str], ...] = ()
    # Environment given to the container when the grader runs it; "{secret}" becomes a fresh value per run
    # (a token passed at run time, never built into the image).
    run_env: tuple[tuple[str, str], ...] = ()
    # A folder the grader makes and mounts at this path in the container (a learner's notebook folder);
    # the only host mount a run ever gets.
    volume: str | None = None
    # Whether the graded container or stack may reach the internet at run time. Without it (every lab so far) it
    # reaches its own services only (graders/netpolicy.py); builds are not affected.
    internet: bool = False

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def starter_dir(self) -> Path:
        """The learner's working folder (the lab folder in labs/)."""
        return REPO_ROOT / "labs" / self.id

    @property
    def solution_dir(self) -> Path:
        return self.folder / "solution"

    @property
    def broken_dir(self) -> Path:
        return self.folder / "broken"

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)
