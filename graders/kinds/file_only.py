"""The shape of a kind whose submission is only read: a record or a settings file judged as it stands. Nothing is
built, started or torn down, so a kind of this shape supplies its name, its needs and how it parses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graders.check_model import Need
from graders.kinds import Progress

if TYPE_CHECKING:
    from graders.context import GradingContext
    from graders.spec import LabSpec


class FileOnlyKind:
    name = ""
    needs: frozenset[Need] = frozenset({Need.FILES})
    parallel_runtime_checks = True

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        return self.needs

    def parse(self, ctx: GradingContext, say: Progress) -> None:
        raise NotImplementedError

    def build(self, ctx: GradingContext, say: Progress) -> None:
        """Nothing to build."""

    def start(self, ctx: GradingContext, say: Progress) -> None:
        """Nothing to start."""

    def teardown(self, ctx: GradingContext) -> None:
        """Nothing of the lab's was made."""
