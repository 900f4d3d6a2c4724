"""The steps of grading a compose lab: read the file (and refuse what is unsafe), build, bring the stack
up, and take it down with its volumes, whatever happened."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors

from graders import build_fence, compose_model, engine, front, images, staging
from graders.build import MAX_CONTEXT_BYTES, build_image, compose_build_flags
from graders.check_model import Need, Phase
from graders.compose_cli import StackCommandFailed
from graders.compose_model import REFUSED_HINT, Refused
from graders.compose_policy import refusals
from graders.context import Blocker, GradingContext
from graders.dockerfile_model import parse_dockerfile
from graders.errors import BuildFailed, BuildNotTheLearners, GraderError, SubmissionError
from graders.kinds import local_files, run_cleanup
from graders.labels import run_labels
from graders.spec import LabSpec
from graders.stack import Stack, awaited_jobs

log = logging.getLogger("graders")

Say = Callable[[str], None]
EFFECTIVE_FILE = "mastery-compose.json"


def parse(ctx: GradingContext, say: Say) -> None:
    """Stage a copy (the only folder Compose reads and containers mount), judge every file Compose would
    read, let Compose read it, then refuse anything the allow-list does not admit."""
    say("Reading the compose file")
    try:
        ctx.build_dir = staging.stage(ctx.submission, ctx.spec.id, ctx.run_id, max_bytes=MAX_CONTEXT_BYTES, plant=ctx.spec.plant,
                                      skip_suffixes=(".ipynb",))
        ctx.compose = compose_model.load(ctx.build_dir)
    except SubmissionError as exc:
        refused = isinstance(exc, Refused) or ctx.build_dir is None
        summary = ("the grader refused to run this stack (see compose_valid)." if refused
                   else "the compose file must be valid first (see compose_valid).")
        ctx.blockers[Phase.STATIC] = Blocker("parse", exc.message, exc.hint, summary=summary)
        return
    refused_why = refusals(ctx.compose, ctx.build_dir, ctx.spec.limits.max_replicas)
    if refused_why:
        ctx.blockers[Phase.STATIC] = Blocker(
            "parse", "Refused before anything started: " + "; ".join(refused_why) + ".", REFUSED_HINT,
            summary="the grader refused to run this stack (see compose_valid).")


def build(ctx: GradingContext, say: Say) -> None:
    """Build each service's image the way a Dockerfile lab's is built (graders/build.py): with the build's
    limits, its fence, its no-progress budget and a run-scoped tag; Compose then only starts the stack."""
    assert ctx.compose is not None and ctx.build_dir is not None
    model = compose_model.effective(ctx.compose, ctx.spec.id, ctx.run_id, ctx.spec.limits, internet=ctx.spec.internet,
                                    start_interval=engine.probes_fast_while_starting())
    ctx.stack = Stack(ctx.build_dir.parent / EFFECTIVE_FILE, model, timeout_s=ctx.spec.limits.run_timeout_s,
                      forwards=tuple(front.forwards_of(model["services"].get(front.FRONT) or {})))
    builds = {name: service["build"] for name, service in ctx.compose.services.items() if "build" in service}
    if not builds:
        return
    say("Building the images")
    ctx.stack.built = True
    limits = ctx.spec.limits
    deadline = time.monotonic() + limits.build_timeout_s
    name, dockerfile = "", None

    def on_line(line: str) -> None:
        if line.startswith("Step ") or (line.startswith("#") and " [" in line):
            say(f"Building {name}: {line[:60]}")

    try:
        with build_fence.fenced(run_labels(ctx.run_id, ctx.spec.id), limits) as cgroup_parent:
            for name, section in builds.items():
                context = Path(section["context"])
                dockerfile = context / section.get("dockerfile", "Dockerfile")
                build_image(context, dockerfile, model["services"][name]["image"], dict(section.get("labels") or {}),
                            timeout_s=max(1.0, deadline - time.monotonic()), buildkit=_needs_buildkit(dockerfile),
                            limits=limits, on_line=on_line, cgroup_parent=cgroup_parent,
                            extra_flags=compose_build_flags(section))
    except BuildNotTheLearners as exc:
        ctx.blockers[Phase.BUILD] = Blocker("error", f"The image of `{name}` did not build: {exc.message}", exc.hint,
                                            step="build", summary="the stack's images could not be built (see stack_builds).")
    except (BuildFailed, GraderError) as exc:
        hint = exc.hint or "Run `docker compose build` in your folder to see the whole log."
        with contextlib.suppress(SubmissionError):
            hint += images.stand_in_note(stage.base for stage in parse_dockerfile(dockerfile).stages) if dockerfile else ""
        ctx.blockers[Phase.BUILD] = Blocker("build", f"The image of `{name}` did not build: {exc.message}", hint,
                                            summary="the stack's images must build first (see stack_builds).")


def _needs_buildkit(dockerfile: Path) -> bool:
    """Whether a Dockerfile needs BuildKit (RUN --mount, heredocs...); one that cannot be read here is built
    with it, whose message then says what is wrong."""
    try:
        return parse_dockerfile(dockerfile).needs_buildkit
    except SubmissionError:
        return True


def start(ctx: GradingContext, say: Say) -> None:
    assert ctx.stack is not None
    mounted = _host_files(ctx.stack.model)
    remote = local_files.blocker(", ".join(mounted)) if mounted else None
    if remote is not None:
        ctx.blockers[Phase.RUNTIME] = remote
        return
    _probe_images_faster(ctx)
    say("Bringing the stack up")
    started = time.monotonic()
    try:
        ctx.stack_seconds = ctx.stack.up(ctx.spec.limits.health_budget_s)
    except StackCommandFailed as exc:
        ctx.stack_seconds = time.monotonic() - started
        ctx.blockers[Phase.RUNTIME] = Blocker("start", _why_not_up(ctx, exc), _hint_not_up(ctx),
                                              summary="the stack must come up healthy first (see stack_healthy).")


def _host_files(model: dict[str, Any]) -> list[str]:
    """What of this machine the stack mounts: bind mounts and secret or config files, as the learner sees them."""
    found = [f"`{volume.get('source')}` (bind mount of `{name}`)" for name, service in model["services"].items()
             for volume in service.get("volumes") or [] if isinstance(volume, dict) and volume.get("type") == "bind"]
    found += [f"the {key[:-1]} file of `{item}`" for key in ("secrets", "configs")
              for item, spec in (model.get(key) or {}).items() if isinstance(spec, dict) and spec.get("file")]
    return found


def _probe_images_faster(ctx: GradingContext) -> None:
    """A service whose image declares the HEALTHCHECK gets the same probe in the grader's model, run more often.
    Before the first compose command, so the file is written once, complete."""
    assert ctx.stack is not None and ctx.compose is not None
    for name, service in ctx.stack.model["services"].items():
        if name == front.FRONT or service.get("healthcheck") or not service.get("image"):
            continue
        try:
            attrs = engine.client().api.inspect_image(service["image"])
        except docker.errors.ImageNotFound:
            continue
        health = compose_model.image_health(attrs, ctx.spec.limits, start_interval=engine.probes_fast_while_starting())
        if health is not None:
            service["healthcheck"] = health


def _why_not_up(ctx: GradingContext, exc: StackCommandFailed) -> str:
    """Which services are not up, with their health log or their last lines of output."""
    assert ctx.stack is not None and ctx.compose is not None
    jobs = awaited_jobs(ctx.compose.services)
    parts = [why for name in ctx.compose.services if (why := ctx.stack.why_down(name, jobs))]
    if not parts:
        return f"The stack did not come up: {exc.message}"
    return (f"The stack did not come up (gave up after {ctx.stack_seconds:.0f} s of the {ctx.spec.limits.health_budget_s:.0f} s "
            "allowed): " + "; ".join(parts) + ".")


def _hint_not_up(ctx: GradingContext) -> str:
    return ("Run `docker compose up --wait` in your folder, then `docker compose ps` and `docker compose logs SERVICE`; "
            "`docker inspect --format '{{json .State.Health}}' CONTAINER` shows what a failing healthcheck printed.")


def teardown(ctx: GradingContext) -> None:
    """`down --volumes`, then the built images, then a sweep by label, then the staged copy."""
    if ctx.stack is not None and (ctx.stack.started or ctx.stack.built):
        try:
            ctx.stack.down(volumes=True, stop_timeout_s=1)  # nothing is judged after this: no grace needed
        except StackCommandFailed as exc:
            log.debug("compose down failed: %s", exc.message)
        try:
            ctx.stack.remove_anonymous_volumes()
        except docker.errors.APIError as exc:
            log.debug("could not remove a volume: %s", exc)
    run_cleanup.sweep_and_unstage(ctx)


class ComposeKind:
    name = "compose"
    parallel_runtime_checks = False  # checks run in the spec's order: some recreate or scale the stack

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        return frozenset({Need.FILES, Need.COMPOSE_FILE, Need.STACK_IMAGES, Need.ENGINE, Need.STACK})

    parse = staticmethod(parse)
    build = staticmethod(build)
    start = staticmethod(start)
    teardown = staticmethod(teardown)


KIND = ComposeKind()
