"""One small exception tree. Each error carries what a learner needs to fix it: a message and a hint."""

from __future__ import annotations


class GraderError(Exception):
    """Base of every error the graders raise on purpose."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class EngineUnavailable(GraderError):
    """No Docker Engine answers: grading cannot be done at all (exit 2)."""


class UsageError(GraderError):
    """The command was called wrongly: unknown lab, missing folder (exit 2)."""


class SubmissionError(GraderError):
    """The submission cannot be read: a missing file, a Dockerfile that does not parse."""


class BuildFailed(GraderError):
    def __init__(self, message: str, hint: str = "", log_tail: str = "") -> None:
        super().__init__(message, hint)
        self.log_tail = log_tail


class BuildTimedOut(BuildFailed):
    """The build ran past the lab's overall build limit (build_timeout_s) and was stopped."""


class BuildNotTheLearners(BuildFailed):
    """The build failed, in every try, for a reason outside the submission: the grader's `error` for the build
    and what needs it, never the learner's `failed`."""


class BuildNetworkFault(BuildNotTheLearners):
    """The build failed because the network did (an index that answered with an error, a reset or timed-out
    connection), in every try (graders/network_faults.py)."""


class BuildEngineFault(BuildNotTheLearners):
    """The engine lost a layer or an image config while it wrote the built image: another image's removal took
    what the export was reusing (builds and removals of alike images at once, as a cohort's grading does), in every try."""


class BuildStalled(BuildFailed):
    """The build showed no progress (no output line, no step finished) for build_stall_s and was stopped:
    told apart from a slow build so the message can name the step that hangs."""

    def __init__(self, message: str, hint: str = "", log_tail: str = "", step: str = "") -> None:
        super().__init__(message, hint, log_tail)
        self.step = step


class ContainerFailed(GraderError):
    """The container could not be started or stopped at once; the message holds its logs."""


class ImageError(GraderError):
    """A base image could not be pulled or built."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while grading. A KeyboardInterrupt, not an Exception, so that it unwinds
    through every `finally` (the run's teardown) exactly as Ctrl-C does, and no `except Exception` in a
    step swallows it as a grader bug."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


class SpecInvalid(GraderError):
    """A lab spec that does not fit together (an unknown kind, a check its kind cannot serve...): found when the
    labs load, so it is the course author's to fix before any learner's run."""
