"""The build check: the image builds, and when it does not, the learner sees the failing step."""

from __future__ import annotations

from graders.check_model import Check, Need, Outcome, Phase
from graders.context import GradingContext
from graders.errors import BuildFailed
from graders.results import Category


def image_builds(points: float, name: str = "image_builds") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        if ctx.build is not None:
            note = f" {ctx.build.note}" if ctx.build.note else ""
            return Outcome.passed(f"Built with the {ctx.build.builder} builder in {ctx.build.seconds:.1f} s.{note}")
        err = ctx.build_error
        if isinstance(err, BuildFailed):
            tail = f"\nLast lines of the build log:\n{err.log_tail}" if err.log_tail else ""
            return Outcome.failed(err.message + tail, err.hint)
        blocker = ctx.blockers.get(Phase.BUILD)
        return Outcome.failed(blocker.message if blocker else "The image was not built.",
                              blocker.hint if blocker else "")

    return Check(name, "Image builds", points, Category.BUILD, (Need.IMAGE,), run, reports="build")
