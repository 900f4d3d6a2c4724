"""Lab kinds: how a kind of lab is read, built, started and torn down, and what its runs can give checks.

The runner drives every kind the same way (parse, static checks, build, build checks, start, runtime checks,
teardown); a kind supplies the steps and says which needs (graders/check_model.Need) it meets for a spec.
Adding a kind is one module here with a `KIND` that satisfies the protocol, plus a line in `_MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from graders.check_model import Need

if TYPE_CHECKING:
    from graders.context import GradingContext
    from graders.spec import LabSpec

Progress = Callable[[str], None]


class Kind(Protocol):
    """One kind of lab. The steps record what they could not do as blockers on the context; they raise
    only for what the runner turns into the grader's own error."""

    name: str
    parallel_runtime_checks: bool  # False where checks change what others judge (a stack recreated, scaled)

    def provides(self, spec: LabSpec) -> frozenset[Need]: ...
    def parse(self, ctx: GradingContext, say: Progress) -> None: ...
    def build(self, ctx: GradingContext, say: Progress) -> None: ...
    def start(self, ctx: GradingContext, say: Progress) -> None: ...
    def teardown(self, ctx: GradingContext) -> None: ...


# Imported on first use: the kinds' steps pull in the engine layer, which loading a spec does not need.
_MODULES = {"dockerfile": "graders.kinds.dockerfile", "compose": "graders.kinds.compose",
            "engine-state": "graders.kinds.engine_state", "manifest": "graders.kinds.manifest",
            "workflow": "graders.kinds.workflow", "swarm-stack": "graders.kinds.swarm_stack",
            "exam-attempt": "graders.kinds.exam_attempt", "daemon-config": "graders.kinds.daemon_config"}


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def get_kind(name: str) -> Kind:
    """The kind registered under name; KeyError for one that is not."""
    kind: Kind = importlib.import_module(_MODULES[name]).KIND
    return kind
