"""What must not be in the image: local data, the git history and secrets, checked in the built image."""

from __future__ import annotations

import posixpath

from graders import engine
from graders.context import GradingContext
from graders.labels import run_labels
from graders.results import Category
from graders.spec import Check, Outcome, Phase


def image_excludes(points: float, paths: tuple[str, ...], name: str = "context_excludes") -> Check:
    """Each path (relative to the image's WORKDIR) must be absent from the image."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.build is not None
        workdir = ctx.image_attrs.get("Config", {}).get("WorkingDir") or "/"
        wanted = {posixpath.join(workdir, rel): rel for rel in paths}
        found = [wanted[path] for path in engine.paths_in_image(ctx.build.image_id, list(wanted),
                                                                run_labels(ctx.run_id, ctx.spec.id))]
        if found:
            return Outcome.failed(f"The image holds {', '.join(found)} (in {workdir}).",
                                  "List them in .dockerignore (e.g. data/, .git/, .env) so the build context, and so "
                                  "COPY . ., never sees them.")
        return Outcome.passed(f"None of {', '.join(paths)} is in the image.")

    return Check(name, ".dockerignore keeps data, .git and secrets out", points, Category.SECURITY, Phase.BUILD, run,
                 tags=("dockerignore",))
