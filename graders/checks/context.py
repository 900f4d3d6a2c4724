"""What must not be in the image: local data, the git history and secrets, checked in the built image."""

from __future__ import annotations

import fnmatch
import posixpath

from graders import engine
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.dockerfile_model import ParsedDockerfile, Stage
from graders.labels import run_labels
from graders.results import Category
from graders.staging import sent_paths


def image_excludes(points: float, paths: tuple[str, ...], name: str = "context_excludes") -> Check:
    """Each path (of the build context) must be absent from the image: from its final filesystem (looked for
    under the WORKDIR), and from every layer of the final stage, which a COPY that took it in keeps even when
    a later RUN deletes it (judged from the context the builder is sent and the Dockerfile's COPY sources)."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.build is not None and ctx.dockerfile is not None and ctx.build_dir is not None
        workdir = ctx.image_attrs.get("Config", {}).get("WorkingDir") or "/"
        wanted = {posixpath.join(workdir, rel): rel for rel in paths}
        found = [wanted[path] for path in engine.paths_in_image(ctx.build.image_id, list(wanted),
                                                                run_labels(ctx.run_id, ctx.spec.id), empty_folders=False)]
        hint = ("List them in .dockerignore (e.g. data/, .git/, .env) so the build context, and so COPY . ., never "
                "sees them.")
        if found:
            return Outcome.failed(f"The image holds {', '.join(found)} (in {workdir}).", hint)
        sent = {rel for rel in sent_paths(ctx.build_dir, ctx.dockerfile.path.name) if (ctx.build_dir / rel).is_file()}
        layered = copied_in(ctx.dockerfile, sent, paths)
        if layered:
            said = "; ".join(f"{path} by line {line} ({copy})" for path, line, copy in layered)
            return Outcome.failed(f"The final image no longer shows them, but a layer keeps what was copied in: {said}. "
                                  "Deleting a file in a later step hides it; its layer still ships with the image.",
                                  hint)
        return Outcome.passed(f"None of {', '.join(paths)} is in the image or any of its layers.")

    return Check(name, ".dockerignore keeps data, .git and secrets out", points, Category.SECURITY,
                 (Need.DOCKERFILE, Need.IMAGE, Need.ENGINE), run, tags=("dockerignore",))


def copied_in(dockerfile: ParsedDockerfile, sent: set[str], paths: tuple[str, ...]) -> list[tuple[str, int, str]]:
    """(path, line, instruction) for each path of which the builder is sent a file (`sent`: the files, relative)
    that a COPY or ADD of the final image's stages takes in (`.`, the path, a folder above it, a pattern)."""
    # A folder counts when a file in it is sent (`data/*` sends the folder alone, empty).
    present = [p for p in paths if p in sent or any(s.startswith(p + "/") for s in sent)]
    found = []
    for stage in _final_chain(dockerfile):
        for ins in stage.instructions:
            if ins.keyword not in ("COPY", "ADD") or ins.flag("from") is not None:
                continue
            sources = [a.removeprefix("./").rstrip("/") for a in ins.args[:-1]]
            for path in present:
                if any(_covers(source, path) for source in sources):
                    found.append((path, ins.line, " ".join((ins.keyword, *ins.args))))
    return found


def _covers(source: str, path: str) -> bool:
    if source in ("", ".", "*"):
        return True
    top = source.split("/")[0]
    return source == path or path.startswith(source + "/") or fnmatch.fnmatch(path, top) or top == path


def _final_chain(dockerfile: ParsedDockerfile) -> list[Stage]:
    """The final stage and the stages it is built FROM (their layers are its own)."""
    by_name = {s.name.lower(): s for s in dockerfile.stages if s.name}
    chain: list[Stage] = []
    stage: Stage | None = dockerfile.final
    while stage is not None and stage not in chain:
        chain.append(stage)
        stage = by_name.get(stage.base.lower())
    return chain

