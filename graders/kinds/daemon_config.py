"""The steps of grading an engine-configuration lab: read the learner's `daemon.json` as dockerd would. Nothing is
built or started for the lab; the check that asks dockerd runs its own throwaway container and removes it."""

from __future__ import annotations

from graders import daemon_config
from graders.check_model import Need, Phase
from graders.context import Blocker, GradingContext
from graders.errors import SubmissionError
from graders.kinds import Progress
from graders.kinds.file_only import FileOnlyKind

FILE = "daemon.json"


def _parse(ctx: GradingContext, say: Progress) -> None:
    say(f"Reading {FILE}")
    try:
        ctx.daemon = daemon_config.read(ctx.submission / FILE)
    except SubmissionError as exc:
        ctx.blockers[Phase.STATIC] = Blocker("parse", exc.message, exc.hint,
                                             summary=f"`{FILE}` must be readable first (see engine_accepts).")


class DaemonConfigKind(FileOnlyKind):
    name = "daemon-config"
    needs = frozenset({Need.FILES, Need.DAEMON_CONFIG})

    def parse(self, ctx: GradingContext, say: Progress) -> None:
        _parse(ctx, say)


KIND = DaemonConfigKind()
