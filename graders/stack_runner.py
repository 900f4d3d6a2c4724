"""The steps of grading a compose lab: read the file (and refuse what is unsafe), build, bring the stack
up, and take it down with its volumes, whatever happened."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker.errors

from graders import compose_model, engine
from graders.build import MAX_CONTEXT_BYTES
from graders.compose_safety import refusals
from graders.context import Blocker, GradingContext
from graders.errors import SubmissionError
from graders.labels import run_labels
from graders.spec import Phase
from graders.stack import Stack, StackCommandFailed, awaited_jobs

log = logging.getLogger("graders")

Say = Callable[[str], None]
EFFECTIVE_FILE = "mastery-compose.json"


def parse(ctx: GradingContext, say: Say) -> None:
    """Stage a copy (containers may write into bind-mounted folders), let Compose read it, refuse what is unsafe."""
    say("Reading the compose file")
    if folder_bytes(ctx.submission, MAX_CONTEXT_BYTES) > MAX_CONTEXT_BYTES:
        ctx.blockers[Phase.STATIC] = Blocker(
            "parse", f"Your folder holds more than {MAX_CONTEXT_BYTES // 2**20} MB; the grader copies it before running it.",
            "Keep data sets and models out of the lab's folder: mount them, or let a service download them.",
            summary="the folder is too large to grade (see compose_valid).")
        return
    ctx.build_dir = stage(ctx)
    try:
        ctx.compose = compose_model.load(ctx.build_dir)
    except SubmissionError as exc:
        ctx.blockers[Phase.STATIC] = Blocker("parse", exc.message, exc.hint,
                                             summary="the compose file must be valid first (see compose_valid).")
        return
    refused = refusals(ctx.compose, ctx.build_dir)
    if refused:
        ctx.blockers[Phase.STATIC] = Blocker(
            "parse", "Refused before anything started: " + "; ".join(refused) + ".",
            "A graded stack runs with no more power than a container needs: remove these options.",
            summary="the grader refused to run this stack (see compose_valid).")


def folder_bytes(folder: Path, limit: int) -> int:
    """Bytes of the files below `folder`, counting no further than just past `limit` (links not followed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                total += path.stat().st_size
                if total > limit:
                    return total
    return total


def stage(ctx: GradingContext) -> Path:
    staged = Path(tempfile.mkdtemp(prefix=f"mastery-{ctx.spec.id}-")) / "context"
    shutil.copytree(ctx.submission, staged, symlinks=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.ipynb"))
    for name, content in ctx.spec.plant:
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_text(content)
    return staged


def build(ctx: GradingContext, say: Say) -> None:
    assert ctx.compose is not None and ctx.build_dir is not None
    model = compose_model.effective(ctx.compose, ctx.spec.id, ctx.run_id, ctx.spec.limits)
    effective_file = ctx.build_dir.parent / EFFECTIVE_FILE
    effective_file.write_text(json.dumps(model, indent=1))
    ctx.stack = Stack(effective_file, model["name"], timeout_s=ctx.spec.limits.run_timeout_s)
    if not any("build" in service for service in ctx.compose.services.values()):
        return
    say("Building the images")
    try:
        ctx.stack.build(ctx.spec.limits.build_timeout_s)
    except StackCommandFailed as exc:
        ctx.blockers[Phase.BUILD] = Blocker("build", f"The stack's images did not build: {exc.message}",
                                            exc.hint or "Run `docker compose build` in your folder to see the whole log.",
                                            summary="the stack's images must build first (see stack_builds).")


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
    for service in model["services"].values():
        if service.get("healthcheck") or not service.get("image"):
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
    try:
        engine.sweep(ctx.run_id)  # containers, networks and volumes carry the run label; images the run's tag
    except docker.errors.APIError as exc:
        log.debug("sweep of run %s failed: %s", ctx.run_id, exc)
    if ctx.build_dir is not None:
        engine.remove_host_dir(ctx.build_dir.parent, ctx.spec.base_images[0], run_labels(ctx.run_id, ctx.spec.id))
