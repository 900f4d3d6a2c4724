"""BuildKit checks: cache mounts that keep package downloads between builds, and stages that run on the
platform they should in a multi-platform build.

The static checks read the parsed Dockerfile (its RUN --mount options and FROM --platform flags). The
measured check rebuilds a copy after adding a package, with the learner's cache mounts and without them,
and compares what each build had to download.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from graders import build_fence, engine, engine_locks, package_caches
from graders.build import BuildResult, build_image
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.dockerfile_model import Instruction, ParsedDockerfile, Stage
from graders.engine_locks import CACHE_MOUNTS
from graders.errors import BuildFailed, BuildNotTheLearners
from graders.labels import run_labels
from graders.results import Category, Status

# A RUN that fetches packages: apt-get/apt, pip (install or download), uv, conda/mamba, apk.
_INSTALLS = re.compile(r"\b(apt-get|apt|pip3?|python3? -m pip|uv|conda|mamba|micromamba|apk)\b[^;&|]*?"
                       r"\b(install|download|sync|add)\b")
_TARGET_ARGS = ("TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT")
_BUILDPLATFORM = re.compile(r"^\$\{?BUILDPLATFORM\}?$")
_TARGETPLATFORM = re.compile(r"^\$\{?TARGETPLATFORM\}?$")


def _tool(command: str) -> str:
    """The install command's name as a learner wrote it ("apt-get install", "pip download")."""
    match = _INSTALLS.search(command)
    return f"{match.group(1)} {match.group(2)}" if match else "install"


def _stage_env(stage: Stage, before_line: int) -> dict[str, str]:
    """The ENV values a RUN on `before_line` sees (the parser gives each ENV as key, value, key, value...)."""
    env: dict[str, str] = {}
    for ins in stage.instructions:
        if ins.keyword == "ENV" and ins.line < before_line:
            env.update(zip(ins.args[0::2], (v.strip("\"'") for v in ins.args[1::2]), strict=False))
    return env


def _useful_target(target: str, command: str, env: dict[str, str]) -> bool:
    """True when a package manager this RUN calls reads or writes its downloads at this path."""
    return bool(package_caches.keeps_cache_of(target, command, env))


def _cache_targets(ins: Instruction) -> list[str]:
    return [m.get("target", "") for m in ins.mounts() if m.get("type") == "cache"]


def cache_mounts_used(points: float, name: str = "cache_mounts_used") -> Check:
    """A RUN that downloads packages keeps them in a cache mount: after a change, only what is new is fetched."""

    def run(ctx: GradingContext) -> Outcome:
        df = ctx.require_dockerfile()
        good: list[str] = []
        misplaced: list[str] = []
        installs = 0
        for stage in df.stages:
            for ins in stage.instructions:
                command = " ".join(ins.args)
                if ins.keyword != "RUN" or not _INSTALLS.search(command):
                    continue
                installs += 1
                env = _stage_env(stage, ins.line)
                targets = _cache_targets(ins)
                useful = [t for t in targets if _useful_target(t, command, env)]
                wasted = [t for t in targets if t not in useful]
                if useful:
                    good.append(f"line {ins.line}: {_tool(command)} with a cache mount at {', '.join(useful)}")
                if wasted:
                    misplaced.append(f"line {ins.line}: {_tool(command)} has a cache mount at {', '.join(wasted)}, "
                                     "where no package manager keeps its downloads")
        if good:
            return Outcome.passed("; ".join(good + misplaced) + ".")
        hint = ("Add --mount=type=cache,target=/var/cache/apt,sharing=locked and "
                "--mount=type=cache,target=/var/lib/apt,sharing=locked to the RUN that calls apt-get, and "
                "--mount=type=cache,target=/root/.cache/pip to the RUN that calls pip.")
        if misplaced:
            return Outcome.failed("; ".join(misplaced) + ".", hint)
        if not installs:
            return Outcome.failed("No RUN installs or downloads packages (apt-get install, pip install or pip download).",
                                  "Install packages.txt with apt-get and requirements.txt with pip, in RUN steps.")
        return Outcome.failed(f"None of the {installs} RUN step(s) that install packages has a --mount=type=cache: "
                              "every rebuild of such a step downloads everything again.", hint)

    return Check(name, "Package downloads kept in cache mounts", points, Category.STATIC, (Need.DOCKERFILE,), run,
                 tags=("dockerfile", "buildkit", "cache"))


@dataclass(frozen=True)
class _TargetUse:
    arg: str
    declared: int  # line of the ARG
    used: int | None  # line of the first later instruction of the stage that references it


# A RUN that fetches for another platform says so: pip's --platform, uv's --python-platform, conda's --platform.
_PLATFORM_OPTION = re.compile(r"--(python-)?platform\b|\bCONDA_SUBDIR=")


def _target_args(stage: Stage) -> list[_TargetUse]:
    """The TARGET* arguments a stage declares, and where (if anywhere) it uses each after declaring it: in a RUN
    that fetches packages for a platform it names (directly, or through an ENV or ARG made from the argument).
    Only mentioning it (`echo $TARGETARCH`) changes nothing that is downloaded."""
    uses = []
    for ins in stage.instructions:
        if ins.keyword != "ARG":
            continue
        for arg in ins.args:
            arg_name = arg.split("=", 1)[0]
            if arg_name not in _TARGET_ARGS:
                continue
            names = {arg_name}
            used = None
            for later in (i for i in stage.instructions if i.line > ins.line):
                text = " ".join(later.flags + later.args)
                if not any(re.search(rf"\$\{{?{name}\b", text) for name in names):
                    continue
                if later.keyword in ("ENV", "ARG"):  # ENV ARCH=$TARGETARCH: ARCH now carries it
                    names |= {a.split("=", 1)[0] for a in later.args[0::2 if later.keyword == "ENV" else 1]}
                elif later.keyword == "RUN" and _INSTALLS.search(text) and _PLATFORM_OPTION.search(text):
                    used = later.line
                    break
            uses.append(_TargetUse(arg_name, ins.line, used))
    return uses


def _stage_label(stage: Stage) -> str:
    return f"stage {stage.name}" if stage.name else "an unnamed stage"


def _build_platform_findings(df: ParsedDockerfile) -> tuple[list[str], list[str]]:
    """What each $BUILDPLATFORM stage does with the target's arguments: the stages that use one (first list),
    and the others (second). A stage whose work is the same for every platform (training in pure Python)
    rightly uses none, so only a Dockerfile where no such stage uses one is at fault."""
    using: list[str] = []
    others: list[str] = []
    for stage in df.stages[:-1]:
        if not _BUILDPLATFORM.match(stage.platform):
            continue
        where = f"line {stage.line}: {_stage_label(stage)} runs on $BUILDPLATFORM"
        uses = _target_args(stage)
        used = [u for u in uses if u.used is not None]
        if used:
            using.append(where + " and uses " + ", ".join(f"{u.arg} (declared on line {u.declared}, used on line {u.used})"
                                                           for u in used))
        elif uses:
            others.append(where + " and declares " + ", ".join(f"{u.arg} (line {u.declared})" for u in uses)
                          + ", but no RUN of the stage downloads for that platform with it (pip download --platform "
                          "…, uv --python-platform …)")
        else:
            others.append(where + f" but declares none of {', '.join(_TARGET_ARGS[:3])}, so whatever it downloads "
                          "or compiles is for the build machine")
    return using, others


def _final_stage_problem(final: Stage) -> str:
    """Why the final stage is not built for the target platform, or "" when it is."""
    if not final.platform or _TARGETPLATFORM.match(final.platform):
        return ""
    if _BUILDPLATFORM.match(final.platform):
        return (f"line {final.line}: the final stage runs on $BUILDPLATFORM, so an image built for arm64 on an amd64 "
                "machine would hold amd64 programs")
    return (f"line {final.line}: the final stage is pinned to --platform={final.platform}, so every image it makes is "
            f"for {final.platform}, whatever platform the build asks for")


def platform_aware_from(points: float, name: str = "platform_aware_from") -> Check:
    """Platform-independent work runs natively on $BUILDPLATFORM and is told the target; what ships is built
    for the target. Read from the parsed FROM flags and ARGs: no multi-platform build is needed to judge it."""

    def run(ctx: GradingContext) -> Outcome:
        df = ctx.require_dockerfile()
        using, others = _build_platform_findings(df)
        problems = [] if using else others or [
            "No stage before the final one says FROM --platform=$BUILDPLATFORM: every stage is built for the target "
            "platform, so a build for another CPU emulates all of it"]
        if final := _final_stage_problem(df.final):
            problems.append(final)
        if problems:
            return Outcome.failed("; ".join(problems) + ".",
                                  "Start the download stage with FROM --platform=$BUILDPLATFORM python:3.13-slim AS wheels, "
                                  "declare ARG TARGETARCH in it and use it to pick the wheels "
                                  "(pip download --platform manylinux2014_<arch>); give the final stage no --platform.")
        how = "has no --platform" if not df.final.platform else f"says --platform={df.final.platform}"
        return Outcome.passed("; ".join([*using, *others, f"the final stage (line {df.final.line}) {how}, so it is "
                                         "built for the target platform"]) + ".")

    return Check(name, "Stages on the right platform", points, Category.STATIC, (Need.DOCKERFILE,), run,
                 tags=("dockerfile", "buildkit", "multi-platform"))


# --- the measured check -------------------------------------------------------------------------------

_SIZE = r"(\d[\d,]*(?:\.\d+)?) ?(B|kB|KB|MB|GB)"
_APT_FETCHED = re.compile(rf"\bFetched {_SIZE} in\b")  # one per apt-get update / install that downloaded
_PIP_DOWNLOADING = re.compile(rf"\bDownloading \S+ \({_SIZE}\)")  # pip says "Using cached ..." when it did not
_UNITS = {"B": 1, "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3}  # apt and pip both count in SI units


@dataclass(frozen=True)
class Downloads:
    apt: int
    pip: int

    @property
    def total(self) -> int:
        return self.apt + self.pip


def downloads_in(log: str) -> Downloads:
    """Bytes apt and pip reported downloading in a build log (the lines of steps that ran, not cached ones)."""

    def total(pattern: re.Pattern[str]) -> int:
        return int(sum(float(m.group(1).replace(",", "")) * _UNITS[m.group(2)] for m in pattern.finditer(log)))

    return Downloads(apt=total(_APT_FETCHED), pip=total(_PIP_DOWNLOADING))


def human(size: int) -> str:
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}" if size < 100 * factor else f"{size / factor:.0f} {unit}"
    return f"{size} B"


_MOUNT_HINT = ("Mount apt's folders as caches (target=/var/cache/apt and target=/var/lib/apt, sharing=locked) on the "
               "RUN that installs packages.txt, and remove /etc/apt/apt.conf.d/docker-clean before it: in the official "
               "Debian-based images that file deletes every downloaded package, so the cache would stay empty.")
# One --mount option as written, with the spaces and the line continuation after it.
_MOUNT_TOKEN = re.compile(r"""--mount=("[^"]*"|'[^']*'|[^\s\\]+)[ \t]*(?:\\[ \t]*\r?\n[ \t]*)?""")


def _drop_cache_mount(match: re.Match[str]) -> str:
    fields = [part.strip().lower() for part in match.group(1).strip("\"'").split(",")]
    return "" if "type=cache" in fields else match.group(0)


def without_cache_mounts(df: ParsedDockerfile) -> str:
    """The Dockerfile's text with every --mount=type=cache option taken out of its RUN steps, all else as written."""
    lines = df.path.read_text(encoding="utf-8").splitlines(keepends=True)
    for ins in reversed(df.instructions):
        if ins.keyword != "RUN" or not _cache_targets(ins):
            continue
        end = ins.line - 1
        while end < len(lines) - 1 and lines[end].rstrip().endswith("\\"):
            end += 1
        block = "".join(lines[ins.line - 1:end + 1])
        lines[ins.line - 1:end + 1] = [_MOUNT_TOKEN.sub(_drop_cache_mount, block)]
    return "".join(lines)


def _unique_blank_line(run_id: str) -> str:
    """A line of spaces and tabs that spells the run id in binary.

    The grader's edit must differ on every run: an edit seen before would find its own layers in the build
    cache, and then neither rebuild would download anything. apt-get (through xargs or $(cat ...)) reads a
    blank line as no package at all.
    """
    bits = bin(int(run_id, 16))[2:] if re.fullmatch(r"[0-9a-f]+", run_id) else "".join(f"{ord(c):08b}" for c in run_id)
    return bits.replace("0", " ").replace("1", "\t") + "\n"


def _figures(build: BuildResult, got: Downloads) -> str:
    parts = f" (apt {human(got.apt)}, pip {human(got.pip)})" if got.apt and got.pip else ""
    return f"{build.seconds:.1f} s, {human(got.total)} downloaded{parts}"


DOCKER_CLEAN = "/etc/apt/apt.conf.d/docker-clean"


def _mount_hint(ctx: GradingContext) -> str:
    """The hint for mounts that saved little, naming docker-clean when the learner's image still has it."""
    assert ctx.build is not None
    try:
        kept = engine.paths_in_image(ctx.build.image_id, [DOCKER_CLEAN], run_labels(ctx.run_id, ctx.spec.id))
    except docker.errors.DockerException:
        kept = []
    if kept:
        return (f"Your image still has {DOCKER_CLEAN}, which the base image ships: it deletes every package apt "
                "downloads, so the apt cache mount stays empty. Remove it (RUN rm -f "
                f"{DOCKER_CLEAN}) before the RUN that installs packages.txt.")
    return _MOUNT_HINT


def _verdict(added: str, cached: BuildResult, baseline: BuildResult, note: str = "") -> Outcome:
    with_mounts, without = downloads_in(cached.log), downloads_in(baseline.log)
    figures = f"with your cache mounts: {_figures(cached, with_mounts)}; without them: {_figures(baseline, without)}"
    # Judged by bytes, not seconds: where the network is fast (200 MB/s here) a full download costs a second or
    # two, less than the noise of a busy 2-core machine, while the bytes a cache mount saves are the same anywhere.
    if without.total == 0:
        which = "neither rebuild downloaded anything" if with_mounts.total == 0 else \
            "the rebuild without your cache mounts downloaded nothing"
        return Outcome.failed(f"After adding {added} to packages.txt, {which} ({figures}): "
                              "the step that installs packages.txt did not run again, or it printed no download "
                              "(apt-get -qq hides it).",
                              "Install the packages listed in packages.txt (e.g. xargs -a /tmp/packages.txt apt-get "
                              "install -y --no-install-recommends), without -qq, in a RUN that reruns when the file "
                              "changes.")
    if with_mounts.total * 2 <= without.total:
        return Outcome.passed(f"After adding {added} to packages.txt: {figures}.{note}")
    return Outcome.failed(f"After adding {added} to packages.txt, your cache mounts saved little: {figures}.", _MOUNT_HINT)


def _add_package(packages: Path, original: str, added: str, unique: str) -> None:
    """packages.txt plus the added package and a blank line no earlier build has seen (see _unique_blank_line)."""
    packages.write_text(original + ("" if original.endswith("\n") or not original else "\n") + f"{added}\n"
                        + _unique_blank_line(unique))


def cache_speeds_rebuild(points: float, added_package: str = "jq", name: str = "cache_speeds_rebuild") -> Check:
    """Proven by behaviour: add a package, rebuild with the learner's cache mounts (warm from the graded build)
    and with the same Dockerfile stripped of them, and compare what each downloaded.

    Cache mounts belong to the engine, not to one project: another build (one that keeps docker-clean, or a
    prune) may have emptied them, and a graded build that came from the layer cache did not fill them again.
    So a rebuild that saved little gets one more try, with another edit, on the cache the first one filled."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.build is not None and ctx.build_dir is not None and ctx.dockerfile is not None
        limits = ctx.spec.limits
        with tempfile.TemporaryDirectory(prefix="mastery-buildkit-") as tmp:
            copy = Path(tmp) / "context"
            shutil.copytree(ctx.build_dir, copy, symlinks=True)
            packages = copy / "packages.txt"
            if not packages.is_file():
                return Outcome.failed("There is no packages.txt in your folder to add a package to.",
                                      "Keep the lab's packages.txt beside your Dockerfile and install what it lists.")
            original = packages.read_text()
            _add_package(packages, original, added_package, ctx.run_id)
            # Outside the build context, so that a COPY . . sees the same files in both builds.
            stripped = Path(tmp) / "Dockerfile.without-cache-mounts"
            stripped.write_text(without_cache_mounts(ctx.dockerfile))
            has_mounts = any(_cache_targets(ins) for ins in ctx.dockerfile.instructions if ins.keyword == "RUN")
            tags = (f"{ctx.build.tag}-cache-mounts", f"{ctx.build.tag}-no-cache-mounts", f"{ctx.build.tag}-cache-mounts-2")

            def build(dockerfile: Path, tag: str) -> BuildResult:
                with build_fence.fenced(run_labels(ctx.run_id, ctx.spec.id), limits) as cgroup_parent:
                    return build_image(copy, dockerfile, tag, {}, timeout_s=limits.build_timeout_s, buildkit=True,
                                       limits=limits, full_log=True, cgroup_parent=cgroup_parent)

            # No other build on this engine may fill or empty the cache mounts while they are measured.
            with engine_locks.exclusive(CACHE_MOUNTS):
                try:
                    # With the cache mounts first, while they hold what the graded build left in them.
                    step = "your Dockerfile with its cache mounts" if has_mounts else "your Dockerfile"
                    cached = build(copy / ctx.dockerfile.path.name, tags[0])
                    # The added package must be what the rebuild installed: packages.txt is the list the lab asks to install.
                    if not engine.paths_in_image(tags[0], [f"/usr/bin/{added_package}"], run_labels(ctx.run_id, ctx.spec.id)):
                        return Outcome.failed(f"After adding {added_package} to packages.txt, the rebuilt image has no "
                                              f"/usr/bin/{added_package}: the Dockerfile does not install what packages.txt "
                                              "lists.",
                                              "Install the packages the file lists (xargs -a /tmp/packages.txt apt-get install "
                                              "-y --no-install-recommends), not names written into the Dockerfile.")
                    if not has_mounts:
                        # The baseline would be the same build again, and entirely cached: nothing to compare with.
                        return Outcome.failed(f"Your Dockerfile has no cache mounts: after adding {added_package} to "
                                              "packages.txt, the rebuild fetched every package again "
                                              f"({_figures(cached, downloads_in(cached.log))}).", _MOUNT_HINT)
                    step = "your Dockerfile without its cache mounts"
                    baseline = build(stripped, tags[1])
                    verdict = _verdict(added_package, cached, baseline)
                    if verdict.status is not Status.FAILED or downloads_in(baseline.log).total == 0:
                        return verdict
                    step = "your Dockerfile with its cache mounts, built again"
                    _add_package(packages, original, added_package, ctx.run_id + "f")
                    again = build(copy / ctx.dockerfile.path.name, tags[2])
                    first = _figures(cached, downloads_in(cached.log))
                    verdict = _verdict(added_package, again, baseline,
                                       note=f" The first rebuild found the cache mounts empty ({first}): another build on "
                                            "this engine had emptied them; the second used them.")
                    if verdict.status is Status.FAILED:
                        return Outcome.failed(verdict.message, _mount_hint(ctx))
                    return verdict
                except BuildNotTheLearners as exc:
                    return Outcome.error(f"After adding {added_package} to packages.txt, {step} failed: {exc.message}",
                                         exc.hint)
                except BuildFailed as exc:
                    hint = exc.hint if "without" not in step else (
                        "A build must not depend on what a cache mount holds: on a new machine it starts empty.")
                    return Outcome.failed(f"After adding {added_package} to packages.txt, {step} no longer built: {exc.message}",
                                          hint)
                finally:
                    for tag in tags:
                        with contextlib.suppress(Exception):
                            # Pruned: these layers are of no use to a later build.
                            engine.client().images.remove(tag)

    return Check(name, "Cache mounts save downloads on a rebuild", points, Category.BUILD,
                 (Need.DOCKERFILE, Need.IMAGE, Need.ENGINE), run, tags=("buildkit", "cache"))
