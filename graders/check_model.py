"""The check model: what a check needs, what it observed, and when in a run it can go.

A check declares its needs (the parsed Dockerfile, the built image, the running stack...). The phase it runs
in follows from them, and a lab's kind says which needs it can meet, so a check placed in a lab that cannot
serve it is refused when the labs load (graders/validation.py), not when a learner's run asserts.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graders.results import Category, Status

if TYPE_CHECKING:
    from graders.context import GradingContext


class Phase(enum.IntEnum):
    """When a check can run. A later phase only runs if the earlier ones got what they need."""

    STATIC = 0  # reads the submission only, no engine
    BUILD = 1  # needs the built image
    RUNTIME = 2  # needs the running container


class Need(enum.Enum):
    """What a check reads. Each is ready in one phase, and only a lab kind that provides it can serve it."""

    FILES = "the submission's files"
    DOCKERFILE = "the lab's Dockerfile, parsed"
    COMPOSE_FILE = "the compose file, as written and as Compose reads it"
    IMAGE = "the built image"
    STACK_IMAGES = "the stack's built images"
    ENGINE = "the Docker Engine, to run or rebuild something of its own"
    CONTAINER = "the running container"
    SERVER = "a server answering on the lab's port"
    JOB_RESULT = "the finished job's exit code and output"
    STACK = "the running stack"
    # An engine-state lab: the containers (and files) the learner made with their own `docker` commands,
    # inspected, never changed. Runtime: it is what runs now, judged under the runtime budget.
    ENGINE_STATE = "the learner's own objects in the Docker Engine, inspected read-only"
    MANIFESTS = "the Kubernetes manifests, every document parsed"  # a manifest lab: judged without an engine
    CLUSTER = "the manifests applied to a live Kubernetes cluster"  # skipped where no cluster answers
    WORKFLOW = "the CI workflow, read and its steps interpreted"  # a workflow lab: nothing of it is executed
    WORKFLOW_RUN = "the workflow's build and test steps, carried out by the grader"
    SWARM = "the stack deployed in the grader's single-node swarm"
    ATTEMPT = "the record of a practice exam's answers"
    DAEMON_CONFIG = "the engine's daemon.json, parsed as dockerd parses it"

    @property
    def phase(self) -> Phase:
        return NEED_PHASE[self]


NEED_PHASE: dict[Need, Phase] = {
    Need.FILES: Phase.STATIC, Need.DOCKERFILE: Phase.STATIC, Need.COMPOSE_FILE: Phase.STATIC,
    Need.IMAGE: Phase.BUILD, Need.STACK_IMAGES: Phase.BUILD, Need.ENGINE: Phase.BUILD,
    Need.CONTAINER: Phase.RUNTIME, Need.SERVER: Phase.RUNTIME, Need.JOB_RESULT: Phase.RUNTIME,
    Need.STACK: Phase.RUNTIME, Need.ENGINE_STATE: Phase.RUNTIME,
    Need.MANIFESTS: Phase.STATIC, Need.CLUSTER: Phase.RUNTIME,
    Need.WORKFLOW: Phase.STATIC, Need.WORKFLOW_RUN: Phase.BUILD, Need.SWARM: Phase.RUNTIME,
    Need.ATTEMPT: Phase.STATIC, Need.DAEMON_CONFIG: Phase.STATIC,
}


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
    def error(cls, message: str,
              hint: str = "This is a problem of the grader, not of your work: run `mastery doctor`.") -> Outcome:
        return cls(Status.ERROR, message, hint)


def judge(problems: list[str], passed: str, hint: str, shown: int) -> Outcome:
    """Passed with `passed` when there is no problem; else failed, quoting the first `shown` problems as one
    sentence and counting the rest, so a file with fifty faults gets a message one can read."""
    if not problems:
        return Outcome.passed(passed)
    text = "; ".join(problems[:shown]) + (f"; and {len(problems) - shown} more" if len(problems) > shown else "")
    return Outcome.failed(text[0].upper() + text[1:] + ".", hint)


CheckFn = Callable[["GradingContext"], Outcome]


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    points: float
    category: Category
    needs: tuple[Need, ...]  # everything run reads of the context; the phase follows from it
    run: CheckFn
    tags: tuple[str, ...] = ()
    reports: str = ""  # the blocker kind this check reports itself ("parse", "build") instead of being blocked by it
    # Asked first, before anything else: a reason this host cannot run the check (no GPU runtime, no
    # cluster) makes it `skipped`, whatever else happened. Skipped is never passed.
    skip_unless: Callable[[], str | None] | None = None

    def __post_init__(self) -> None:
        if not self.needs:
            raise ValueError(f"check {self.name} declares no needs: say what it reads (graders/check_model.Need)")

    @property
    def phase(self) -> Phase:
        """The phase in which everything the check needs is ready: the latest of its needs'."""
        return max(need.phase for need in self.needs)
