"""The container a task asks for, found in the learner's engine: it exists by the task's name, from the image and
with the label the task gives; else what to tell the learner. Shared by the engine-state check families, which
only read (graders/learner_objects.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graders import engine
from graders.check_model import Outcome
from graders.context import GradingContext
from graders.learner_objects import LearnerObjects


@dataclass(frozen=True)
class Wanted:
    """A container the task asks for, as the task words it."""

    name: str
    image: str
    label: str  # key=value, as `docker run --label` takes it
    command: str  # what makes it: quoted when it is missing or must be made again

    @property
    def label_key(self) -> str:
        return self.label.partition("=")[0]

    @property
    def label_value(self) -> str:
        return self.label.partition("=")[2]


def _view(ctx: GradingContext) -> LearnerObjects:
    assert ctx.learner is not None, "engine-state checks run only once the kind opened its view"
    return ctx.learner


def _missing(wanted: Wanted) -> Outcome:
    return Outcome.failed(
        f"No container named `{wanted.name}` in the Docker Engine at {engine.address().url}: run `{wanted.command}`.",
        "Run the lab's commands against the engine the grader reads (`docker context show` names the one your terminal "
        "uses; in the course that is `mastery`), and give the container exactly this name.")


def _image_name(reference: str) -> str:
    """`docker.io/library/python:3.13-slim` as a person writes it: `python:3.13-slim`."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if reference.startswith(prefix):
            return reference[len(prefix):]
    return reference


def differences(view: LearnerObjects, attrs: dict[str, Any], wanted: Wanted) -> list[str]:
    """What of the container is not as the task says (its image, its label), each as a phrase."""
    found = []
    config = attrs.get("Config") or {}
    used = _image_name(str(config.get("Image", "")))
    expected_id = view.image_id(wanted.image)
    same_image = attrs.get("Image") == expected_id if expected_id else used == wanted.image
    if not same_image:
        found.append(f"it runs the image `{used}`, not `{wanted.image}`")
    labels = config.get("Labels") or {}
    if wanted.label_key not in labels:
        found.append(f"it has no label `{wanted.label_key}` (the task's is `{wanted.label}`)")
    elif labels[wanted.label_key] != wanted.label_value:
        found.append(f"its label is `{wanted.label_key}={labels[wanted.label_key]}`, not `{wanted.label}`")
    return found


def _not_as_asked(wanted: Wanted, found: list[str]) -> Outcome:
    return Outcome.failed(f"`{wanted.name}` exists, but " + "; ".join(found) + ".",
                          f"A container's image and labels are fixed when it is made: remove it with "
                          f"`docker rm -f {wanted.name}` and make it again with `{wanted.command}`.")


def as_asked(ctx: GradingContext, wanted: Wanted) -> dict[str, Any] | Outcome:
    """The task's container when it exists from the image and with the label asked for; else what to tell."""
    view = _view(ctx)
    attrs = view.container(wanted.name)
    if attrs is None:
        return _missing(wanted)
    found = differences(view, attrs, wanted)
    return _not_as_asked(wanted, found) if found else attrs
