"""The layer-cache check, proven by behaviour: edit only the source, rebuild, and see whether the
dependency install came from the cache (as it does when requirements are copied and installed first)."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from pathlib import Path

from graders import build_fence, engine
from graders.build import build_image
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.errors import BuildFailed, BuildNotTheLearners
from graders.labels import run_labels
from graders.results import Category

INSTALL = re.compile(r"\b(pip3?|python3? -m pip|uv pip|conda|mamba|poetry|apt-get|apk)\b.*\b(install|sync)\b")


def install_steps(log: str) -> list[tuple[str, bool]]:
    """(command, taken from the cache) for every RUN that installs packages, in the order the log shows them.

    Reads the legacy builder's `Step N/M : RUN ...` / ` ---> Using cache` and BuildKit's `#N [..] RUN ...` /
    `#N CACHED` lines.
    """
    lines = log.splitlines()
    found = []
    for i, line in enumerate(lines):
        legacy = re.match(r"Step \d+/\d+ : RUN (.*)", line)
        if legacy and INSTALL.search(legacy.group(1)):
            found.append((legacy.group(1), any("Using cache" in later for later in lines[i + 1:i + 3])))
        buildkit = re.match(r"(#\d+) \[[^\]]*\] RUN (.*)", line)
        if buildkit and INSTALL.search(buildkit.group(2)):
            found.append((buildkit.group(2), any(later.startswith(f"{buildkit.group(1)} CACHED") for later in lines[i + 1:])))
    return found


def dependency_layer_cached(points: float, source_file: str, name: str = "dependency_layer_cached") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        assert ctx.build is not None and ctx.build_dir is not None and ctx.dockerfile is not None
        with tempfile.TemporaryDirectory(prefix="mastery-rebuild-") as tmp:
            copy = Path(tmp) / "context"
            shutil.copytree(ctx.build_dir, copy, symlinks=True)
            source = copy / source_file
            if not source.is_file():
                return Outcome.failed(f"There is no {source_file} in your folder to edit.",
                                      f"Keep the lab's {source_file} beside your Dockerfile.")
            # Unique per run: an edit seen before would find its own layers in the cache and prove nothing.
            source.write_text(source.read_text() + f"\n# a one-line edit made by the grader (run {ctx.run_id})\n")
            tag = f"{ctx.build.tag}-rebuild"
            try:
                with build_fence.fenced(run_labels(ctx.run_id, ctx.spec.id), ctx.spec.limits) as cgroup_parent:
                    rebuilt = build_image(copy, copy / ctx.dockerfile.path.name, tag, {},
                                          timeout_s=ctx.spec.limits.build_timeout_s,
                                          buildkit=ctx.dockerfile.needs_buildkit, limits=ctx.spec.limits, full_log=True,
                                          cgroup_parent=cgroup_parent)
            except BuildNotTheLearners as exc:
                return Outcome.error(f"After a one-line edit of {source_file}, the rebuild failed: {exc.message}",
                                     exc.hint)
            except BuildFailed as exc:
                return Outcome.failed(f"After a one-line edit of {source_file} the image no longer built: {exc.message}",
                                      exc.hint)
            finally:
                with contextlib.suppress(Exception):
                    # Pruned: the edited layers are of no use to any later build.
                    engine.client().images.remove(tag)
        steps = install_steps(rebuilt.log)
        if not steps:
            return Outcome.failed("No RUN step installs the dependencies (pip install -r requirements.txt).",
                                  "Install requirements.txt in its own RUN step.")
        # Every install must come from the cache: an apt-get ahead of the COPY proves nothing about the pip after it.
        rerun = [command for command, cached in steps if not cached]
        if rerun:
            return Outcome.failed(f"After editing only {source_file}, the rebuild ran `{rerun[0][:120]}` again "
                                  f"({rebuilt.seconds:.1f} s).",
                                  "COPY requirements.txt and RUN pip install before COPY of the source code: then a "
                                  "code change leaves the install layer in the cache.")
        return Outcome.passed(f"After editing only {source_file}, the rebuild took the install from the cache "
                              f"({rebuilt.seconds:.1f} s).")

    return Check(name, "Dependencies cached across source edits", points, Category.BUILD,
                 (Need.DOCKERFILE, Need.IMAGE, Need.ENGINE), run, tags=("cache",))
