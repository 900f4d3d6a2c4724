"""The steps of grading an engine-state lab: the learner did the task with `docker` commands in their own engine,
so there is nothing to build or start. Parse reads the text files the task has them write; start opens a
read-only view of their containers (graders/learner_objects.py); teardown has nothing to remove. The grader never
touches what the learner made; a check that must look inside (a volume's files, a connection between networks)
makes a short-lived object of its own, labelled with the run, and removes it itself."""

from __future__ import annotations

from pathlib import Path

from graders.check_model import Need
from graders.context import GradingContext
from graders.kinds import Progress
from graders.learner_objects import LearnerObjects
from graders.spec import LabSpec

MAX_FILE_BYTES = 1024 * 1024  # `docker logs` of a chatty container saved by mistake: read its start, not all of it


def read_handed_in(folder: Path, name: str) -> str | None:
    """The text of a file the task asks for, or None when it is not there. A link is followed only to a file
    inside the folder: an instructor grading a cohort must not show one learner's link to their own files."""
    path = folder / name
    try:
        resolved = path.resolve()
        if not resolved.is_file() or not resolved.is_relative_to(folder.resolve()):
            return None
        with resolved.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def _parse(ctx: GradingContext, say: Progress) -> None:
    say("Reading your files")
    ctx.handed_in = {name: read_handed_in(ctx.submission, name) for name in ctx.spec.files}


def _build(ctx: GradingContext, say: Progress) -> None:
    """Nothing to build: the learner's containers run from images already in their engine."""


def _start(ctx: GradingContext, say: Progress) -> None:
    """Nothing to start: the learner's objects are already there. The checks read them through one view."""
    say("Looking at your containers")
    ctx.learner = LearnerObjects()


def _teardown(ctx: GradingContext) -> None:
    """Nothing to remove: the grader made no object, and the learner's are theirs to keep."""


class EngineStateKind:
    name = "engine-state"
    parallel_runtime_checks = True  # every check only reads the engine

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        return frozenset({Need.FILES, Need.ENGINE_STATE})

    parse = staticmethod(_parse)
    build = staticmethod(_build)
    start = staticmethod(_start)
    teardown = staticmethod(_teardown)


KIND = EngineStateKind()
