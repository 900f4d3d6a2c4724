"""The steps of grading an engine-configuration lab: read the learner's `daemon.json` as dockerd would. Nothing is
built or started for the lab; the check that asks dockerd runs its own throwaway container and removes it."""

from __future__ import annotations

from graders import daemon_config
from graders.check_model import Need, Phase
from graders.context import Blocker, GradingContext
from graders.errors import SubmissionError
from graders.kinds import Progress
from graders.spec import LabSpec

FILE = "daemon.json"


def _parse(ctx: GradingContext, say: Progress) -> None:
    say(f"Reading {FILE}")
    try:
        ctx.daemon = daemon_config.read(ctx.submission / FILE)
    except SubmissionError as exc:
        ctx.blockers[Phase.STATIC] = Blocker("parse", exc.message, exc.hint,
                                             summary=f"`{FILE}` must be readable first (see engine_accepts).")


def _nothing(ctx: GradingContext, say: Progress) -> None:
    """Nothing to build or start: the file is all there is."""


def _teardown(ctx: GradingContext) -> None:
    """Nothing of the lab's was made."""


class DaemonConfigKind:
    name = "daemon-config"
    parallel_runtime_checks = True

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        return frozenset({Need.FILES, Need.DAEMON_CONFIG})

    parse = staticmethod(_parse)
    build = staticmethod(_nothing)
    start = staticmethod(_nothing)
    teardown = staticmethod(_teardown)


KIND = DaemonConfigKind()
