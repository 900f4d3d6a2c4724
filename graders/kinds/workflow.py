"""The steps of grading a workflow lab: read the GitHub Actions workflow, then carry out the steps that build and
test the image, in the order GitHub would, with the grader's own build and run (graders/workflow_model.py says
which steps become what). The learner's shell is never run, no container gets the engine's socket, a network or
a folder of the host, and nothing is pushed: a push is only recorded where it stands.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
from pathlib import Path

import docker.errors

from graders import build_fence, engine, staging, workflow_model
from graders.build import MAX_CONTEXT_BYTES, build_image
from graders.check_model import Need, Phase
from graders.context import Blocker, GradingContext
from graders.dockerfile_model import parse_dockerfile
from graders.errors import BuildFailed, BuildNotTheLearners, GraderError, SubmissionError
from graders.kinds import Progress
from graders.labels import image_tag, run_labels
from graders.spec import LabSpec
from graders.workflow_model import Action, StepResult

log = logging.getLogger("graders")
OUTPUT_LINES = 12  # of a failed test's output, quoted in its check's message
BUILD_SUMMARY = "the image must build first (see image_builds)."


def _parse(ctx: GradingContext, say: Progress) -> None:
    say("Reading the workflow")
    try:
        ctx.workflow = workflow_model.load(ctx.submission)
    except SubmissionError as exc:
        ctx.blockers[Phase.STATIC] = Blocker("parse", exc.message, exc.hint,
                                             summary="the workflow must be read first (see workflow_valid).")


def full_name(image: str) -> str:
    """`name` is `name:latest`, as docker reads it."""
    return image if ":" in image.rsplit("/", 1)[-1] or "@" in image else f"{image}:latest"


def _inside(root: Path, relative: str) -> Path | None:
    """relative, under root, or None when it leaves root (an absolute path, `..`) or holds an expression."""
    if "{" in relative or relative.startswith("/"):
        return None
    clean = posixpath.normpath(relative or ".")
    if clean == ".." or clean.startswith("../"):
        return None
    return root / clean


def _build(ctx: GradingContext, say: Progress) -> None:
    """Carry out the workflow's builds and tests in order; a failed step ends its job, and the jobs that need it."""
    flow = ctx.workflow
    assert flow is not None
    if not flow.of("build"):
        ctx.blockers[Phase.BUILD] = Blocker(
            "build", f"No step of `{workflow_model.WORKFLOW}` builds an image: the grader found no "
            "`docker/build-push-action` and no `docker build` or `docker buildx build` line.",
            "Add a step that uses `docker/build-push-action` (with `context: .`), or a `run:` line "
            "`docker buildx build --load -t NAME .`.", summary=BUILD_SUMMARY)
        return
    try:
        ctx.build_dir = staging.stage(ctx.submission, ctx.spec.id, ctx.run_id, max_bytes=MAX_CONTEXT_BYTES,
                                      ignore_file=staging.applicable_ignore(ctx.submission), keep=ctx.spec.files)
    except SubmissionError as exc:
        ctx.blockers[Phase.BUILD] = Blocker("build", exc.message, exc.hint, summary=BUILD_SUMMARY)
        return
    built: dict[tuple[str, str, tuple[str, ...]], str] = {}  # what was built, by context, Dockerfile and flags
    images: dict[tuple[str, str], tuple[str, Action]] = {}  # (job, tag as written) -> image id, and the build
    failed: set[str] = set()
    results: list[StepResult] = []
    ctx.workflow_run = results
    for action in flow.actions:
        job = action.step.job
        if ({job} | flow.needs.get(job, set())) & failed:
            results.append(StepResult(action, "not-reached", f"{action.step.where} did not run: an earlier step failed"))
            continue
        if action.kind == "build":
            result = _carry_out_build(ctx, action, built, images, say)
        elif action.kind == "test":
            result = _carry_out_test(ctx, action, images, say)
        else:
            result = StepResult(action, "noted", action.note)
        results.append(result)
        if result.status == "failed":
            failed.add(job)
            if action.kind == "build" and Phase.BUILD not in ctx.blockers:  # the first failed build is the verdict
                ctx.blockers[Phase.BUILD] = Blocker("build", result.message, _hint(result), summary=BUILD_SUMMARY)


def _hint(result: StepResult) -> str:
    return result.output


def _carry_out_build(ctx: GradingContext, action: Action, built: dict[tuple[str, str, tuple[str, ...]], str],
                     images: dict[tuple[str, str], tuple[str, Action]], say: Progress) -> StepResult:
    where = action.step.where
    assert ctx.build_dir is not None
    context = _inside(ctx.build_dir, action.context)
    dockerfile = (_inside(ctx.build_dir, action.dockerfile) if action.dockerfile
                  else (context / "Dockerfile" if context is not None else None))
    if context is None or dockerfile is None or not context.is_dir() or not dockerfile.is_file():
        return StepResult(action, "failed", f"{where} builds the context `{action.context}` with the Dockerfile "
                          f"`{action.dockerfile or 'Dockerfile'}`, which the grader cannot find in your folder.",
                          "Build the repository's own files: `context: .` (the Dockerfile is then `./Dockerfile`).")
    key = (str(context), str(dockerfile), action.flags)
    if key in built:
        image_id = built[key]
        status, message = "reused", f"{where}: the same build as an earlier step, done once"
    else:
        say(f"Building ({where})")
        tag = image_tag(ctx.spec.id if not built else f"{ctx.spec.id}-{len(built) + 1}", ctx.run_id)
        try:
            parsed = parse_dockerfile(dockerfile)
            with build_fence.fenced(run_labels(ctx.run_id, ctx.spec.id), ctx.spec.limits) as cgroup_parent:
                result = build_image(context, dockerfile, tag, {}, timeout_s=ctx.spec.limits.build_timeout_s,
                                     buildkit=parsed.needs_buildkit, limits=ctx.spec.limits,
                                     cgroup_parent=cgroup_parent, extra_flags=action.flags)
        except BuildNotTheLearners as exc:  # not the learner's: the build check, and what needs it, are the grader's error
            ctx.blockers[Phase.BUILD] = Blocker("error", exc.message, exc.hint, step="build",
                                                summary="the image could not be built (see image_builds).")
            return StepResult(action, "failed", f"{where}: {exc.message}", exc.hint)
        except (BuildFailed, SubmissionError, GraderError) as exc:
            return StepResult(action, "failed", f"{where} fails: {exc.message}", exc.hint)
        image_id = built[key] = result.image_id
        status, message = "built", f"{where} built the image in {result.seconds:.0f} s"
    for written in action.tags:
        images[(action.step.job, full_name(written))] = (image_id, action)
    return StepResult(action, status, message)


def _carry_out_test(ctx: GradingContext, action: Action, images: dict[tuple[str, str], tuple[str, Action]],
                    say: Progress) -> StepResult:
    where = action.step.where
    found = images.get((action.step.job, full_name(action.image)))
    if found is None:
        return StepResult(action, "failed", f"{where} runs `{action.image}`, which no earlier step of job "
                          f"`{action.step.job}` built: each job runs on a fresh runner, with only the images it builds. "
                          "Tag the build with the name the test runs (build-push-action's `tags:`, or `-t`), in the "
                          "same job, before the test step.")
    image_id, build = found
    if not build.loads:
        how = "`load: true`" if build.step.uses else "`--load`"
        return StepResult(action, "failed", f"{where} runs `{action.image}`, but {build.step.where} builds it with "
                          f"Buildx without {how}: the image stays in the builder, and `docker run` cannot find it. "
                          f"Add {how} to the build step, so the image is loaded into the runner's Docker.")
    limits = ctx.spec.limits
    say(f"Running the tests ({where})")
    options: dict[str, object] = {"environment": [f"{k}={v}" for k, v in action.env]}
    if action.command:
        options["command"] = list(action.command)
    for key, value in (("working_dir", action.workdir), ("user", action.user), ("entrypoint", action.entrypoint)):
        if value:
            options[key] = value
    with engine.probe_copy(image_id, limits, run_labels(ctx.run_id, ctx.spec.id), **options) as container:
        container.start()
        try:
            code = int(container.wait(timeout=limits.run_timeout_s).get("StatusCode", -1))
        except Exception:  # requests' own timeout types: the tests outlived their time
            code = None
        output = container.logs().decode("utf-8", "replace").rstrip()
    tail = "\n".join(output.splitlines()[-OUTPUT_LINES:])
    note = f" ({action.note})" if action.note else ""
    if code == 0:
        return StepResult(action, "passed", f"{where} `{action.text[:80]}` exited 0{note}", tail)
    what = f"was still running after {limits.run_timeout_s:.0f} s" if code is None else f"exited {code}"
    return StepResult(action, "failed", f"{where} `{action.text[:80]}` {what}{note}. Its last lines:\n{tail or '(none)'}",
                      tail)


def _start(ctx: GradingContext, say: Progress) -> None:
    """Nothing keeps running: the tests ran to completion while the workflow was carried out."""


def _teardown(ctx: GradingContext) -> None:
    if ctx.build_dir is not None:
        shutil.rmtree(ctx.build_dir.parent, ignore_errors=True)
    try:
        engine.sweep(ctx.run_id)  # the run's images too: every build here was tagged for the run (image_tag)
    except docker.errors.APIError as exc:
        log.debug("sweep of run %s failed: %s", ctx.run_id, exc)


class WorkflowKind:
    name = "workflow"
    parallel_runtime_checks = True  # there are none: everything ran while the workflow was carried out

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        return frozenset({Need.FILES, Need.WORKFLOW, Need.WORKFLOW_RUN})

    parse = staticmethod(_parse)
    build = staticmethod(_build)
    start = staticmethod(_start)
    teardown = staticmethod(_teardown)


KIND = WorkflowKind()
