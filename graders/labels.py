"""Labels on everything a grading run makes, so a sweep can find what a crash left behind."""

from __future__ import annotations

import uuid

RUN_LABEL = "io.mastery.run"
LAB_LABEL = "io.mastery.lab"
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


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def run_labels(run_id: str, lab_id: str) -> dict[str, str]:
    return {RUN_LABEL: run_id, LAB_LABEL: lab_id}
