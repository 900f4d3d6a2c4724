"""A swarm lab's stack as the grader and the checks both see it: the service the lab is about, the grader's
images of it, the run's stack in the grader's swarm, and the Compose sizes its limits are written in."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from graders.compose_model import ComposeModel

STACK_FILE = "stack.yaml"
API = "api"  # the stack's service the lab is about
SECOND = "second"  # the grader's second version of the learner's image: the same image, relabelled
BROKEN = "broken"  # an image of the learner's whose process exits at once: an update Swarm must roll back


@dataclass
class SwarmRun:
    """The run's swarm: the stack's name, the images built for it, and what to undo at the end."""

    project: str
    images: dict[str, str] = field(default_factory=dict)  # "first", SECOND, BROKEN -> tag
    exit: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    deployed: bool = False

    def service(self, name: str = API) -> str:
        return f"{self.project}_{name}"


def project_of(run_id: str) -> str:
    return f"grade-{run_id}"


def replicas_wanted(compose: ComposeModel) -> int:
    deploy = compose.service(API).get("deploy") or {}
    return int(deploy.get("replicas") or 1)


def compose_cpus(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


UNITS = {"b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30}


def compose_bytes(value: Any) -> int:
    """A Compose size (`128M`, `1g`, `134217728`) in bytes; 0 when missing or unreadable."""
    text = str(value or "").strip().lower()
    number = text.rstrip("bkmg")
    unit = text[len(number):] or "b"
    try:
        return int(float(number) * UNITS[unit])
    except (ValueError, KeyError):
        return 0
