"""What a lab asks for: its files, base images, kind, run mode and checks. The check model is in
graders/check_model.py, the limits in graders/limits.py; graders/validation.py refuses a spec that does not fit
together when the labs load."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from graders.check_model import Check
from graders.limits import Limits

REPO_ROOT = Path(__file__).resolve().parent.parent


class RunMode(enum.StrEnum):
    """How a Dockerfile lab's container is judged."""

    SERVER = "server"  # runs until stopped, judged through its port and health
    BATCH = "batch"  # runs to completion, judged by its exit code and output


@dataclass(frozen=True)
class LabSpec:
    id: str
    title: str
    lesson: str  # the page in course/, relative to it
    kind: str  # a name in the kind registry (graders/kinds): dockerfile | compose
    files: tuple[str, ...]  # what the learner hands in
    base_images: tuple[str, ...]
    checks: tuple[Check, ...]
    folder: Path  # where the spec, solution and broken variants live
    port: int | None = 8080  # the port a server listens on; None for a batch job
    limits: Limits = field(default_factory=Limits)
    run_mode: RunMode = RunMode.SERVER
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
    # An engine-state lab: the names of the containers (and networks, volumes, images) its task has the learner make (each labelled
    # `course.lab=<lab id>`, graders/labels.task_label). The grader only reads them; a proof removes them after.
    task_objects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_mode", RunMode(self.run_mode))  # "batch" as written, or a ValueError

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
