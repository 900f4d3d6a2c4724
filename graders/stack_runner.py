"""The steps of grading a compose lab: read the file (and refuse what is unsafe), build, bring the stack
up, and take it down with its volumes, whatever happened."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import docker.errors

from graders import compose_model, disk_budget, engine, front, staging
from graders.build import MAX_CONTEXT_BYTES, compose_build_flags
from graders.compose_model import REFUSED_HINT, Refused
from graders.compose_policy import refusals
from graders.context import Blocker, GradingContext
from graders.dockerfile_model import ParsedDockerfile, parse_dockerfile
from graders.errors import BuildFailed, SubmissionError
from graders.labels import run_labels
from graders.spec import Phase
from graders.stack import Stack, StackCommandFailed, awaited_jobs

log = logging.getLogger("graders")

Say = Callable[[str], None]
EFFECTIVE_FILE = "mastery-compose.json"


def parse(ctx: GradingContext, say: Say) -> None:
    """Stage a copy (the only folder Compose reads and containers mount), judge every file Compose would
    read, let Compose read it, then refuse anything the allow-list does not admit."""
    say("Reading the compose file")
    try:
        ctx.build_dir = staging.stage(ctx.submission, ctx.spec.id, max_bytes=MAX_CONTEXT_BYTES, plant=ctx.spec.plant,
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
    assert ctx.compose is not None and ctx.build_dir is not None
    model = compose_model.effective(ctx.compose, ctx.spec.id, ctx.run_id, ctx.spec.limits, internet=ctx.spec.internet)
    effective_file = ctx.build_dir.parent / EFFECTIVE_FILE
    effective_file.write_text(json.dumps(model, indent=1))
    ctx.stack = Stack(effective_file, model["name"], timeout_s=ctx.spec.limits.run_timeout_s,
                      forwards=tuple(front.forwards_of(model["services"].get(front.FRONT) or {})))
    if not any("build" in service for service in ctx.compose.services.values()):
        return
    say("Building the images")

    def on_line(line: str) -> None:
        if line.startswith("#") and " [" in line:
            say(f"Building: {line[:70]}")

    try:
        limits = ctx.spec.limits
        dockerfiles = _dockerfiles(ctx)
        flags = None if _needs_buildkit(dockerfiles) else compose_build_flags(limits)
        started = time.time()
        try:
            ctx.stack.build(limits.build_timeout_s, limits.build_stall_s, on_line, flags)
        except (StackCommandFailed, BuildFailed):
            if flags is not None:
                engine.remove_step_containers(started - 1, _run_commands(dockerfiles))
            raise
    except (StackCommandFailed, BuildFailed) as exc:
        ctx.blockers[Phase.BUILD] = Blocker("build", f"The stack's images did not build: {exc.message}",
                                            exc.hint or "Run `docker compose build` in your folder to see the whole log.",
                                            summary="the stack's images must build first (see stack_builds).")


def _dockerfiles(ctx: GradingContext) -> list[ParsedDockerfile | None]:
    """The Dockerfile of each service that builds, parsed; None for one that cannot be read here (the
    build's own message will say why)."""
    assert ctx.compose is not None
    found: list[ParsedDockerfile | None] = []
    for service in ctx.compose.services.values():
        build = service.get("build")
        if not isinstance(build, dict):
            continue
        try:
            found.append(parse_dockerfile(Path(build["context"]) / build.get("dockerfile", "Dockerfile")))
        except (SubmissionError, KeyError):
            found.append(None)
    return found


def _needs_buildkit(dockerfiles: list[ParsedDockerfile | None]) -> bool:
    """Whether a Dockerfile needs BuildKit (RUN --mount, heredocs...), or cannot be read. Only the classic
    builder takes a memory limit for its steps, so the stack builds with it unless one does."""
    return any(parsed is None or parsed.needs_buildkit for parsed in dockerfiles)


def _run_commands(dockerfiles: list[ParsedDockerfile | None]) -> list[list[str]]:
    """The command lines the classic builder gives the step containers of the stack's RUN instructions."""
    return [list(ins.args) if ins.is_json else ["/bin/sh", "-c", " ".join(ins.args)]
            for parsed in dockerfiles if parsed is not None for ins in parsed.instructions if ins.keyword == "RUN"]


def start(ctx: GradingContext, say: Say) -> None:
    assert ctx.stack is not None
    _probe_images_faster(ctx)
    say("Bringing the stack up")
    started = time.monotonic()
    try:
        ctx.stack_seconds = ctx.stack.up(ctx.spec.limits.health_budget_s)
    except StackCommandFailed as exc:
        ctx.stack_seconds = time.monotonic() - started
        ctx.blockers[Phase.RUNTIME] = Blocker("start", _why_not_up(ctx, exc), _hint_not_up(ctx),
                                              summary="the stack must come up healthy first (see stack_healthy).")


def _probe_images_faster(ctx: GradingContext) -> None:
    """A service whose image declares the HEALTHCHECK gets the same probe in the grader's file, run more often."""
    assert ctx.stack is not None and ctx.compose is not None
    model = json.loads(ctx.stack.file.read_text())
    changed = False
    for name, service in model["services"].items():
        if name == front.FRONT or service.get("healthcheck") or not service.get("image"):
            continue
        try:
            attrs = engine.client().api.inspect_image(service["image"])
        except docker.errors.ImageNotFound:
            continue
        health = compose_model.image_health(attrs, ctx.spec.limits)
        if health is not None:
            service["healthcheck"] = health
            changed = True
    if changed:
        ctx.stack.file.write_text(json.dumps(model, indent=1))


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
    disk_budget.trim(ctx)  # while the run's images still carry its tags: any over the budget go with their layers
    try:
        engine.sweep(ctx.run_id)  # containers, networks and volumes carry the run label; images the run's tag
    except docker.errors.APIError as exc:
        log.debug("sweep of run %s failed: %s", ctx.run_id, exc)
    if ctx.build_dir is not None:
        engine.remove_host_dir(ctx.build_dir.parent, ctx.spec.base_images[0], run_labels(ctx.run_id, ctx.spec.id))
