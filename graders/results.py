"""The verdict of a grading run: one result per check, and the report that sums them.

Skipped checks are kept apart from the score: skipped is never passed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # cannot run on this host (no GPU runtime, no cluster); the message says why
    ERROR = "error"  # the grader itself could not judge; never the learner's fault


class Category(enum.StrEnum):
    """The one category tag every check carries (DESIGN.md)."""

    STATIC = "static"
    BUILD = "build"
    USER = "user"
    HEALTH = "health"
    SIZE = "size"
    ENDPOINT = "endpoint"
    GPU = "gpu"
    COMPOSE = "compose"
    SECURITY = "security"
    STATE = "state"
    MANIFEST = "manifest"
    QUIZ = "quiz"


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    status: Status
    points: float
    max_points: float
    category: Category
    message: str
    hint: str = ""
    tags: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def all_tags(self) -> tuple[str, ...]:
        """The category first, then the check's own tags."""
        return (self.category.value, *[t for t in self.tags if t != self.category.value])


@dataclass
class GradeReport:
    lab_id: str
    lab_title: str
    submission: str
    results: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    problem: str = ""  # set when grading could not be done at all (no engine, bad usage)

    @property
    def score(self) -> float:
        return sum(r.points for r in self.results if r.status is not Status.SKIPPED)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self.results if r.status is not Status.SKIPPED)

    @property
    def skipped_points(self) -> float:
        return sum(r.max_points for r in self.results if r.status is Status.SKIPPED)

    @property
    def all_passed(self) -> bool:
        return not self.problem and all(r.status in (Status.PASSED, Status.SKIPPED) for r in self.results)

    @property
    def grader_failed(self) -> bool:
        """Whether the grader itself failed on some check (`error`): the run says nothing about those, and
        `mastery check` exits 2 (grading could not be done) rather than 1 (the work has a problem)."""
        return any(r.status is Status.ERROR for r in self.results)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.status is Status.ERROR)

    def result(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no check named {name!r} in lab {self.lab_id!r}")

    def failed_names(self) -> set[str]:
        return {r.name for r in self.results if r.status in (Status.FAILED, Status.ERROR)}
