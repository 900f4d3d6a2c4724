"""What a grading run has learned so far, handed to every check.

A phase that could not complete records a blocker: the checks that needed it fail with that reason
instead of running (a broken build costs the runtime checks too, and says so).
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graders.build import BuildResult
from graders.check_model import Phase
from graders.compose_model import ComposeModel
from graders.container import Readiness, RunningContainer, RunResult
from graders.dockerfile_model import ParsedDockerfile, parse_dockerfile
from graders.engine import config_env
from graders.engine_address import EngineAddress
from graders.health_probe import Verdict
from graders.learner_objects import LearnerObjects
from graders.spec import LabSpec
from graders.stack import Stack

if TYPE_CHECKING:  # the later lab kinds' models: only their own gradings load them
    from graders.daemon_config import DaemonConfig
    from graders.exam.session import Attempt
    from graders.kube_cluster import LiveResult
    from graders.manifest_model import Manifests
    from graders.swarm_stack_model import SwarmRun
    from graders.workflow_model import StepResult, Workflow


@dataclass
class Blocker:
    kind: str  # "parse", "build" or "start": a check whose `reports` names it judges it itself
    message: str
    hint: str = ""
    summary: str = ""  # what the checks blocked by it say; the full message once, from its own check
    step: str = ""  # for an "error": the step it stopped ("build"), whose own check says the full message

    def for_check(self, reports: str | None) -> tuple[str, str]:
        """The message and hint for a check this blocks: the full ones for the check that reports its step."""
        if self.step and self.step == reports:
            return self.message, self.hint
        return self.for_dependents()

    def for_dependents(self) -> tuple[str, str]:
        if self.summary:
            return f"Not checked: {self.summary}", ""
        return f"Not checked: {self.message}", self.hint


@dataclass
class GradingContext:
    spec: LabSpec
    submission: Path
    run_id: str
    engine: EngineAddress | None = None  # the engine this run grades on (graders/engine.py `using` routes every call)
    dockerfile: ParsedDockerfile | None = None
    build: BuildResult | None = None
    build_error: Any = None  # the BuildFailed, kept for the build check's message
    image_attrs: dict[str, Any] = field(default_factory=dict)
    build_dir: Path | None = None  # what was built: the submission, or the grader's copy with planted files
    container: RunningContainer | None = None
    readiness: Readiness | None = None
    run_result: RunResult | None = None  # a batch job's exit code and output
    secret: str = ""  # the per-run value of "{secret}" in the lab's run_env
    volume_dir: Path | None = None  # the host side of the lab's volume
    compose: ComposeModel | None = None  # a compose lab's file, as written and as Compose read it
    stack: Stack | None = None  # the grader's run of that stack
    stack_seconds: float = 0.0  # how long `up --wait` took
    blockers: dict[Phase, Blocker] = field(default_factory=dict)
    runtime_deadline: float | None = None  # time.monotonic() by which start and the runtime checks must end
    # The image's HEALTHCHECK run in an idle copy (graders/health_probe.py), started while the container becomes
    # healthy: it needs only the image, and it is off the learner's wait.
    idle_health: concurrent.futures.Future[Verdict] | None = None
    # The run's networks (the container's, and the front's where a port is published), made while the image builds.
    networks: concurrent.futures.Future[tuple[str, str | None]] | None = None
    # A manifest lab: every document of the learner's manifests, and (with a cluster) their live run in the
    # namespace named here, which teardown deletes.
    manifests: Manifests | None = None
    cluster_namespace: str | None = None
    cluster_result: LiveResult | None = None
    # An engine-state lab: the text files its task has the learner write (None: not there), and the read-only
    # view of the learner's own containers that its checks inspect (graders/learner_objects.py).
    handed_in: dict[str, str | None] = field(default_factory=dict)
    learner: LearnerObjects | None = None
    # A workflow lab: the workflow read and interpreted, what became of each step the grader carried out, and the
    # grader's own tags of the images it built (removed at teardown).
    workflow: Workflow | None = None
    workflow_run: list[StepResult] = field(default_factory=list)
    # A swarm lab: the run's stack in the grader's swarm, its images, and what teardown undoes.
    swarm: SwarmRun | None = None
    # A practice-exam lab: the learner's record of a mock exam, as they answered it.
    attempt: Attempt | None = None
    # An engine-configuration lab: the learner's daemon.json, as dockerd reads it.
    daemon: DaemonConfig | None = None

    def blocker_for(self, phase: Phase) -> Blocker | None:
        """The first blocker at or before this phase: a check of this phase cannot run past it."""
        for p in sorted(self.blockers):
            if p <= phase:
                return self.blockers[p]
        return None

    @property
    def image_env(self) -> dict[str, str]:
        """The built image's environment (its Config.Env), as a dict."""
        return config_env(self.image_attrs)

    def dockerfile_at(self, relative: str) -> ParsedDockerfile:
        """A Dockerfile inside the submission (a compose service's); raises SubmissionError when it is missing or broken."""
        return parse_dockerfile((self.build_dir or self.submission) / relative)

    def require_dockerfile(self) -> ParsedDockerfile:
        assert self.dockerfile is not None, "static checks run only once the Dockerfile parsed"
        return self.dockerfile

    def require_container(self) -> RunningContainer:
        assert self.container is not None, "runtime checks run only with a started container"
        return self.container

    def require_stack(self) -> tuple[ComposeModel, Stack]:
        assert self.compose is not None and self.stack is not None, "stack checks run only once the stack is up"
        return self.compose, self.stack
