"""A grading run: read → build → run → check → tear down everything it made, whatever happened.

Failures become results. Only "grading cannot be done at all" (no engine, unknown folder) raises.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from graders import engine, engine_locks, kinds, runs
from graders.check_model import Check, Outcome, Phase
from graders.context import Blocker, GradingContext
from graders.deadline import DeadlineExceeded, call_with_deadline
from graders.engine_address import EngineAddress
from graders.errors import UsageError
from graders.kinds import Progress
from graders.labels import new_run_id
from graders.limits import Limits
from graders.results import CheckResult, GradeReport, Status
from graders.spec import LabSpec
from graders.threads import in_this_context

log = logging.getLogger("graders")

def _quiet(_: str) -> None:
    pass


def grade(spec: LabSpec, submission: Path, *, limits: Limits | None = None,
          progress: Progress | None = None, on: EngineAddress | None = None) -> GradeReport:
    """Grade one submission folder, on the engine `on` (else the process's): everything the run does, in
    every thread it starts, goes to that engine, so runs on several engines can share one process."""
    with engine.using(on or engine.address()) as chosen:
        return _grade(spec, submission, chosen, limits, progress)


def _grade(spec: LabSpec, submission: Path, chosen: EngineAddress, limits: Limits | None,
           progress: Progress | None) -> GradeReport:
    say = progress or _quiet
    submission = submission.resolve()
    if not submission.is_dir():
        raise UsageError(f"{submission} is not a folder.", f"Pass the folder that holds your {spec.files[0]}.")
    if limits is not None:
        spec = replace(spec, limits=limits)
    ctx = GradingContext(spec=spec, submission=submission, run_id=new_run_id(), engine=chosen)
    report = GradeReport(lab_id=spec.id, lab_title=spec.title, submission=str(submission))
    started = time.monotonic()
    results: dict[str, CheckResult] = {}
    engine.client()  # no engine: grading cannot be done (raises EngineUnavailable)
    steps = kinds.get_kind(spec.kind)  # the labs' loader refused an unknown kind (graders/validation.py)
    # Registered while in flight: a run killed with SIGKILL leaves its lock file unlocked, and the sweep at
    # the next run's start removes what it made. Runs of other processes in flight hold their lock: untouched.
    with runs.registered(ctx.run_id) as registration:
        runs.sweep_stale_quietly()
        try:
            steps.parse(ctx, say)
            _run_checks(ctx, Phase.STATIC, results)
            with engine_locks.shared(engine_locks.BUILD_CACHE):  # the build and its rebuilds find its layers
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


def _run_checks(ctx: GradingContext, phase: Phase, results: dict[str, CheckResult]) -> None:
    checks = [c for c in ctx.spec.checks if c.phase == phase]
    deadline = ctx.runtime_deadline if phase == Phase.RUNTIME else None
    # A stack's checks run one after another, in the spec's order: some of them recreate or scale it.
    parallel = kinds.get_kind(ctx.spec.kind).parallel_runtime_checks
    if phase == Phase.RUNTIME and len(checks) > 1 and not ctx.blocker_for(phase) and parallel:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(checks))
        try:
            futures = {check.name: pool.submit(in_this_context(_run_one), ctx, check) for check in checks}
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
        outcome = Outcome(Status.ERROR, *blocker.for_check(check.reports))
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


