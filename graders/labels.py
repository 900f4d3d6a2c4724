"""Labels on everything a grading run makes, so a sweep can find what a crash left behind."""

from __future__ import annotations

import uuid

RUN_LABEL = "io.mastery.run"
LAB_LABEL = "io.mastery.lab"
STAND_IN_LABEL = "io.mastery.stand-in"
STAND_IN_FOR_LABEL = "io.mastery.stand-in.for"


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def run_labels(run_id: str, lab_id: str) -> dict[str, str]:
    return {RUN_LABEL: run_id, LAB_LABEL: lab_id}
