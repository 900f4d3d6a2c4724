"""A grading run: read → build → run → check → tear down everything it made, whatever happened.

Failures become results. Only "grading cannot be done at all" (no engine, unknown folder) raises.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import docker.errors

from graders import build_fence, disk_budget, engine, images, netpolicy, runs, stack_runner, staging
from graders.build import MAX_CONTEXT_BYTES, build_image
from graders.container import health_override, run_to_completion, start_container, wait_ready
from graders.context import Blocker, GradingContext
from graders.deadline import DeadlineExceeded, call_with_deadline
from graders.dockerfile_model import parse_dockerfile
from graders.errors import BuildFailed, ContainerFailed, GraderError, SubmissionError, UsageError
from graders.labels import image_tag, new_run_id, run_labels
from graders.results import CheckResult, GradeReport, Status
from graders.spec import Check, LabSpec, Limits, Outcome, Phase

log = logging.getLogger("graders")

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def grade(spec: LabSpec, submission: Path, *, limits: Limits | None = None,
          progress: Progress | None = None) -> GradeReport:
    """Grade one submission folder against a Dockerfile lab."""
    say = progress or _quiet
    submission = submission.resolve()
    if not submission.is_dir():
        raise UsageError(f"{submission} is not a folder.", f"Pass the folder that holds your {spec.files[0]}.")
    if limits is not None:
        spec = replace(spec, limits=limits)
    ctx = GradingContext(spec=spec, submission=submission, run_id=new_run_id())
    report = GradeReport(lab_id=spec.id, lab_title=spec.title, submission=str(submission))
    started = time.monotonic()
    results: dict[str, CheckResult] = {}
    engine.client()  # no engine: grading cannot be done (raises EngineUnavailable)
    steps = STACK_STEPS if spec.kind == "compose" else DOCKERFILE_STEPS
    # Registered while in flight: a run killed with SIGKILL leaves its lock file unlocked, and the sweep at
    # the next run's start removes what it made. Runs of other processes in flight hold their lock: untouched.
    with runs.registered(ctx.run_id) as registration:
        runs.sweep_stale_quietly()
        try:
            steps.parse(ctx, say)
            _run_checks(ctx, Phase.STATIC, results)
            if not ctx.blocker_for(Phase.BUILD):
                _guarded(ctx, Phase.BUILD, lambda: steps.build(ctx, say))
            _run_checks(ctx, Phase.BUILD, results)
            # The runtime phase (start, then every runtime check) has one budget; a check still going at its end
            # is cut off and the rest are not started, so no submission holds the learner past it.
            ctx.runtime_deadline = time.monotonic() + spec.limits.health_budget_s + spec.limits.run_timeout_s
            if not ctx.blocker_for(Phase.RUNTIME):
                _guarded(ctx, Phase.RUNTIME, lambda: steps.start(ctx, say))
            _run_checks(ctx, Phase.RUNTIME, results)
        finally:
            with runs.signals_deferred():  # a SIGTERM now waits until everything is removed
                say("Cleaning up")
                steps.teardown(ctx)
                registration.done()
    report.results = [results[c.name] for c in spec.checks]
    report.seconds = time.monotonic() - started
    return report


def _guarded(ctx: GradingContext, phase: Phase, step: Callable[[], None]) -> None:
    """A grader bug in a phase blocks the checks that need it: they become `error` (not `failed`) with the
    problem in their message, and the report says the grader failed. It never escapes as a traceback."""
    try:
        step()
    except Exception as exc:
        log.debug("phase %s raised", phase.name, exc_info=True)
        ctx.blockers[phase] = Blocker("error", f"The grader hit an internal problem ({type(exc).__name__}: {exc}).",
                                      "This is not your fault: run `mastery doctor`, and report it if it persists.")


def _parse(ctx: GradingContext, say: Progress) -> None:
    """Stage the build context (the grader's copy, the only folder it reads and builds), then parse its Dockerfile.
    A context too large to copy is the build's verdict; the Dockerfile is still judged, from the folder,
    which staging found free of links out of it."""
    say("Reading the Dockerfile")
    try:
        try:
            ctx.build_dir = _stage(ctx)
        except staging.TooLarge as exc:
            ctx.build_error = BuildFailed(exc.message, exc.hint)
            ctx.blockers[Phase.BUILD] = Blocker("build", exc.message, exc.hint,
                                                summary="the image must build first (see image_builds).")
        ctx.dockerfile = parse_dockerfile((ctx.build_dir or ctx.submission) / "Dockerfile")
    except SubmissionError as exc:
        message = exc.message.replace(f" in {ctx.build_dir}.", " in your folder.") if ctx.build_dir else exc.message
        ctx.blockers[Phase.STATIC] = Blocker("parse", message, exc.hint,
                                             summary="the Dockerfile must parse first (see dockerfile_valid).")


def _stage(ctx: GradingContext) -> Path:
    """A copy of the build context with the lab's planted files: what the builder would be sent (the ignore
    file that applies leaves the rest out), plus the files the learner hands in."""
    return staging.stage(ctx.submission, ctx.spec.id, max_bytes=MAX_CONTEXT_BYTES, plant=ctx.spec.plant,
                         ignore_file=staging.applicable_ignore(ctx.submission),
                         keep=(*ctx.spec.files, ".dockerignore", "Dockerfile.dockerignore"),
                         too_large=("The build context", "Add data, model files and .git to .dockerignore: they do not "
                                    "belong in the image."))


def _build(ctx: GradingContext, say: Progress) -> None:
    say("Building the image")
    assert ctx.dockerfile is not None
    tag = image_tag(ctx.spec.id, ctx.run_id)
    assert ctx.build_dir is not None
    steps = 0

    def on_line(line: str) -> None:
        nonlocal steps
        if line.startswith("Step ") or (line.startswith("#") and " [" in line):
            steps += 1
            say(f"Building: {line[:70]}")

    try:
        with build_fence.fenced(run_labels(ctx.run_id, ctx.spec.id), ctx.spec.limits) as cgroup_parent:
            ctx.build = build_image(ctx.build_dir, ctx.build_dir / ctx.dockerfile.path.name, tag, {},
                                    timeout_s=ctx.spec.limits.build_timeout_s, buildkit=ctx.dockerfile.needs_buildkit,
                                    limits=ctx.spec.limits, on_line=on_line, cgroup_parent=cgroup_parent)
        ctx.image_attrs = engine.client().api.inspect_image(ctx.build.image_id)
    except BuildFailed as exc:
        exc.hint += images.stand_in_note(stage.base for stage in ctx.dockerfile.stages)
        ctx.build_error = exc
        ctx.blockers[Phase.BUILD] = Blocker("build", exc.message, exc.hint,
                                            summary="the image must build first (see image_builds).")
    except GraderError as exc:
        ctx.build_error = BuildFailed(exc.message, exc.hint)
        ctx.blockers[Phase.BUILD] = Blocker("build", exc.message, exc.hint)


def _start(ctx: GradingContext, say: Progress) -> None:
    say("Starting the container")
    assert ctx.build is not None
    limits = ctx.spec.limits
    health = health_override(ctx.image_attrs.get("Config", {}).get("Healthcheck"), limits)
    ctx.secret = secrets.token_hex(16)
    env = {key: value.replace("{secret}", ctx.secret) for key, value in ctx.spec.run_env}
    volume = None
    if ctx.spec.volume:
        ctx.volume_dir = Path(tempfile.mkdtemp(prefix=f"mastery-{ctx.spec.id}-volume-"))
        ctx.volume_dir.chmod(0o777)  # whichever user the learner's image runs as may write here
        volume = (str(ctx.volume_dir), ctx.spec.volume)
    labels = run_labels(ctx.run_id, ctx.spec.id)
    try:
        # Its own network, not the default bridge: it reaches nothing but itself (removed by the run's sweep);
        # its port is published by the grader's front, from a network of its own (graders/front.py).
        network = netpolicy.create_run_network(ctx.run_id, ctx.spec.id, labels, publishes=False,
                                               internet=ctx.spec.internet)
        front_network = (netpolicy.create_run_network(ctx.run_id, ctx.spec.id, labels, publishes=True, internet=False)
                         if ctx.spec.port is not None else None)
        ctx.container = start_container(ctx.build.image_id, labels, limits, ctx.spec.port, health, env=env, volume=volume,
                                        network=network, front_network=front_network,
                                        dns=netpolicy.container_dns(internet=ctx.spec.internet))
    except ContainerFailed as exc:
        ctx.blockers[Phase.RUNTIME] = Blocker("start", exc.message, exc.hint)
        return
    if ctx.spec.run_mode == "batch":
        say("Running the job")
        ctx.run_result = run_to_completion(ctx.container, limits.run_timeout_s)
        if ctx.run_result.exit_code is None:
            why = ctx.container.diagnose() or (
                f"The job was still running after {limits.run_timeout_s:.0f} s and was stopped.",
                "A batch job must finish: look for a loop without end, or a step waiting for input.")
            ctx.blockers[Phase.RUNTIME] = Blocker("start", *why)
        elif ctx.container.state().get("OOMKilled"):
            ctx.blockers[Phase.RUNTIME] = Blocker("start", *(ctx.container.diagnose() or ("Out of memory.", "")))
        return
    say("Waiting for the container to become healthy" if health else "Waiting for the port to open")
    ctx.readiness = wait_ready(ctx.container, limits.health_budget_s, expects_health=health is not None)
    if ctx.readiness.fatal:
        # Dead, out of memory or out of processes: nothing in the container can be judged.
        ctx.blockers[Phase.RUNTIME] = Blocker("start", ctx.readiness.message, ctx.readiness.hint)
    say("Checking the running container")


def _run_checks(ctx: GradingContext, phase: Phase, results: dict[str, CheckResult]) -> None:
    checks = [c for c in ctx.spec.checks if c.phase == phase]
    deadline = ctx.runtime_deadline if phase == Phase.RUNTIME else None
    # A stack's checks run one after another, in the spec's order: some of them recreate or scale it.
    if phase == Phase.RUNTIME and len(checks) > 1 and not ctx.blocker_for(phase) and ctx.spec.kind != "compose":
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(checks))
        try:
            futures = {check.name: pool.submit(_run_one, ctx, check) for check in checks}
            concurrent.futures.wait(futures.values(), timeout=_left(deadline))
            for check in checks:
                future = futures[check.name]
                results[check.name] = future.result() if future.done() else _over_budget(ctx, check)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return
    for check in checks:
        left = _left(deadline)
        try:
            if left is not None and left <= 0:
                raise DeadlineExceeded("no time left")
            results[check.name] = (call_with_deadline(functools.partial(_run_one, ctx, check), left) if left is not None
                                   else _run_one(ctx, check))
        except DeadlineExceeded:
            results[check.name] = _over_budget(ctx, check)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def _over_budget(ctx: GradingContext, check: Check) -> CheckResult:
    """A check the runtime budget did not leave time for (cut off, or never started)."""
    budget = ctx.spec.limits.health_budget_s + ctx.spec.limits.run_timeout_s
    return CheckResult(name=check.name, title=check.title, status=Status.FAILED, points=0.0, max_points=check.points,
                       category=check.category, tags=check.tags,
                       message=f"Not finished: the running submission used up the {budget:.0f} s the grader gives it "
                               "(start and every check together) before this check could finish.",
                       hint="Something answers slowly or not at all: run it yourself and time each request; a check "
                            "waits only seconds for an answer that should come at once.")


def _run_one(ctx: GradingContext, check: Check) -> CheckResult:
    started = time.monotonic()
    blocker = ctx.blocker_for(check.phase)
    host_reason = check.skip_unless() if check.skip_unless else None
    if host_reason:
        outcome = Outcome.skipped(host_reason)
    elif blocker is not None and blocker.kind == "error":
        # The grader failed, not the submission: an error with the grader's problem, never a 0 for the learner.
        outcome = Outcome(Status.ERROR, *blocker.for_dependents())
    elif blocker is not None and blocker.kind != check.reports:
        outcome = Outcome.failed(*blocker.for_dependents())
    else:
        try:
            outcome = check.run(ctx)
        except Exception as exc:
            log.debug("check %s raised", check.name, exc_info=True)
            outcome = Outcome.error(f"The grader could not judge this check ({type(exc).__name__}: {exc}).")
    points = check.points if outcome.status is Status.PASSED else 0.0
    return CheckResult(name=check.name, title=check.title, status=outcome.status, points=points,
                       max_points=check.points, category=check.category, message=outcome.message,
                       hint=outcome.hint if outcome.status is not Status.PASSED else "", tags=check.tags,
                       seconds=time.monotonic() - started)


def _teardown(ctx: GradingContext) -> None:
    """Remove the container, the image and the staged copy; the sweep catches anything a crash left labelled."""
    if ctx.build_dir is not None:
        shutil.rmtree(ctx.build_dir.parent, ignore_errors=True)
    if ctx.container is not None:
        ctx.container.stop()
    if ctx.volume_dir is not None:
        engine.remove_host_dir(ctx.volume_dir, ctx.spec.base_images[0], run_labels(ctx.run_id, ctx.spec.id))
    disk_budget.trim(ctx)  # while the run's images still carry its tags: any over the budget go with their layers
    if ctx.build is not None:
        try:
            engine.client().images.remove(ctx.build.tag, noprune=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            log.debug("could not remove %s: %s", ctx.build.tag, exc)
    try:
        engine.sweep(ctx.run_id)
    except docker.errors.APIError as exc:
        log.debug("sweep of run %s failed: %s", ctx.run_id, exc)


@dataclass(frozen=True)
class Steps:
    """How one kind of lab is read, built, started and torn down; the order and the checks are shared."""

    parse: Callable[[GradingContext, Progress], None]
    build: Callable[[GradingContext, Progress], None]
    start: Callable[[GradingContext, Progress], None]
    teardown: Callable[[GradingContext], None]


DOCKERFILE_STEPS = Steps(_parse, _build, _start, _teardown)
STACK_STEPS = Steps(stack_runner.parse, stack_runner.build, stack_runner.start, stack_runner.teardown)
