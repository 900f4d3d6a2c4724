"""Labels on everything a grading run makes, so a sweep can find what a crash left behind."""

from __future__ import annotations

import functools
import os
import re
import socket
import uuid

RUN_LABEL = "io.mastery.run"
LAB_LABEL = "io.mastery.lab"
# Who made a run: the registry of runs in flight (graders/runs.py) is one user's on one machine, so a
# sweep can only tell whether a run of the same owner is still in flight.
OWNER_LABEL = "io.mastery.owner"
STAND_IN_LABEL = "io.mastery.stand-in"
STAND_IN_FOR_LABEL = "io.mastery.stand-in.for"
STAND_IN_REVISION_LABEL = "io.mastery.stand-in.revision"  # which recipe made it: another one means rebuild


# Images are tagged, not labelled: with the legacy builder each --label is a build step of its own,
# a new layer on every check (about 0.1 s). The tag names the lab and the run instead.
IMAGE_REPO = "mastery-grade"


def image_tag(lab_id: str, run_id: str) -> str:
    return f"{IMAGE_REPO}/{lab_id}:{run_id}"


def image_reference(run_id: str | None = None) -> str:
    """A `reference` filter matching the images of one run, or of every run."""
    return f"{IMAGE_REPO}/*:{run_id}" if run_id else f"{IMAGE_REPO}/*"


_RUN_ID = re.compile(r"[0-9a-f]{12}")


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def is_run_id(text: str) -> bool:
    """Whether text is a run id as new_run_id makes them: a sweep acts on nothing else (an empty one means all)."""
    return _RUN_ID.fullmatch(text) is not None


def run_of_tag(tag: str) -> str | None:
    """The run id of a grading run's image tag (mastery-grade/<name>:<run id>); None for any other tag."""
    repo, _, run = tag.rpartition(":")
    if not repo.startswith(f"{IMAGE_REPO}/") or "/" in run or not is_run_id(run):
        return None
    return run


@functools.cache
def owner() -> str:
    """This user on this machine (uid@hostname): the owner whose registry knows whether its runs are in flight."""
    return f"{os.getuid()}@{socket.gethostname()}"


def run_labels(run_id: str, lab_id: str) -> dict[str, str]:
    return {RUN_LABEL: run_id, LAB_LABEL: lab_id, OWNER_LABEL: owner()}


# What an engine-state lab's task has the learner put on every container it makes (`--label course.lab=<lab id>`):
# the grader lists the lab's containers by it, and its proofs remove them by it. Never on a grading run's own objects.
TASK_LABEL = "course.lab"


def task_label(lab_id: str) -> str:
    """The `key=value` label of an engine-state lab's containers, as `docker run --label` and `--filter` take it."""
    return f"{TASK_LABEL}={lab_id}"


def scratch_prefix(lab_id: str, run_id: str) -> str:
    """The name a run's scratch folders start with (its staged copy, its volume folder), under the system's
    temporary folder: the run id in it lets the sweep of a killed run remove them too."""
    return f"mastery-{lab_id}-{run_id}-"
