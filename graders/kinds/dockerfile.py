"""The steps of grading a Dockerfile lab: stage and parse the Dockerfile, build it inside the build fence,
start the container on a network of its own (published through the grader's front), and remove all of it."""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import tempfile
from pathlib import Path

import docker.errors

from graders import build_fence, disk_budget, engine, engine_locks, health_probe, images, netpolicy, staging, threads
from graders.build import MAX_CONTEXT_BYTES, build_image
from graders.check_model import Need, Phase
from graders.container import health_override, run_to_completion, start_container, wait_ready
from graders.context import Blocker, GradingContext
from graders.dockerfile_model import parse_dockerfile
from graders.engine_locks import CACHE_MOUNTS
from graders.errors import BuildFailed, BuildNotTheLearners, ContainerFailed, GraderError, SubmissionError
from graders.kinds import Progress, local_files
from graders.labels import image_tag, run_labels, scratch_prefix
from graders.spec import LabSpec, RunMode

log = logging.getLogger("graders")
BACKGROUND_WAIT_S = 60.0  # the idle copy's own deadline is 10 s, the engine API's 120 s


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
    return staging.stage(ctx.submission, ctx.spec.id, ctx.run_id, max_bytes=MAX_CONTEXT_BYTES, plant=ctx.spec.plant,
                         ignore_file=staging.applicable_ignore(ctx.submission),
                         keep=(*ctx.spec.files, ".dockerignore", "Dockerfile.dockerignore"),
                         too_large=("The build context", "Add data, model files and .git to .dockerignore: they do not "
                                    "belong in the image."))


def _networks(ctx: GradingContext) -> tuple[str, str | None]:
    """Its own network, not the default bridge: it reaches nothing but itself (removed by the run's sweep); its
    port is published by the grader's front, from a network of its own (graders/front.py)."""
    labels = run_labels(ctx.run_id, ctx.spec.id)
    network = netpolicy.create_run_network(ctx.run_id, ctx.spec.id, labels, publishes=False, internet=ctx.spec.internet)
    front_network = (netpolicy.create_run_network(ctx.run_id, ctx.spec.id, labels, publishes=True, internet=False)
                     if ctx.spec.port is not None else None)
    return network, front_network


def _build(ctx: GradingContext, say: Progress) -> None:
    say("Building the image")
    ctx.networks = threads.in_background(_networks, ctx)  # they need nothing of the image: made while it builds
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
        # A build with cache mounts waits while another grading measures what those mounts save (engine_locks).
        shared = engine_locks.exclusive(CACHE_MOUNTS) if ctx.dockerfile.uses_cache_mounts else contextlib.nullcontext()
        with shared, build_fence.fenced(run_labels(ctx.run_id, ctx.spec.id), ctx.spec.limits) as cgroup_parent:
            ctx.build = build_image(ctx.build_dir, ctx.build_dir / ctx.dockerfile.path.name, tag, {},
                                    timeout_s=ctx.spec.limits.build_timeout_s, buildkit=ctx.dockerfile.needs_buildkit,
                                    limits=ctx.spec.limits, on_line=on_line, cgroup_parent=cgroup_parent)
        ctx.image_attrs = engine.client().api.inspect_image(ctx.build.image_id)
    except BuildNotTheLearners as exc:
        # Not the learner's fault: the build check and those that need the image are the grader's `error`.
        ctx.blockers[Phase.BUILD] = Blocker("error", exc.message, exc.hint, step="build",
                                            summary="the image could not be built (see image_builds).")
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
    declared = ctx.image_attrs.get("Config", {}).get("Healthcheck")
    health = health_override(declared, limits)
    ctx.secret = secrets.token_hex(16)
    env = {key: value.replace("{secret}", ctx.secret) for key, value in ctx.spec.run_env}
    volume = None
    if ctx.spec.volume:
        remote = local_files.blocker(f"a folder at {ctx.spec.volume}")
        if remote is not None:
            ctx.blockers[Phase.RUNTIME] = remote
            return
        ctx.volume_dir = Path(tempfile.mkdtemp(prefix=scratch_prefix(ctx.spec.id, ctx.run_id) + "volume-", dir=engine.scratch_dir()))
        ctx.volume_dir.chmod(0o777)  # whichever user the learner's image runs as may write here
        volume = (str(ctx.volume_dir), ctx.spec.volume)
    labels = run_labels(ctx.run_id, ctx.spec.id)
    try:
        network, front_network = ctx.networks.result() if ctx.networks is not None else _networks(ctx)
        ctx.container = start_container(ctx.build.image_id, labels, limits, ctx.spec.port, health, env=env, volume=volume,
                                        network=network, front_network=front_network,
                                        dns=netpolicy.container_dns(internet=ctx.spec.internet))
    except ContainerFailed as exc:
        ctx.blockers[Phase.RUNTIME] = Blocker("start", exc.message, exc.hint)
        return
    if ctx.spec.run_mode is RunMode.BATCH:
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
    if health:  # the idle copy's verdict (checks/health.py) needs only the image: it runs while we wait
        ctx.idle_health = threads.in_background(health_probe.without_the_app, ctx.build.image_id, declared or {},
                                                labels, limits)
    say("Waiting for the container to become healthy" if health else "Waiting for the port to open")
    ctx.readiness = wait_ready(ctx.container, limits.health_budget_s, expects_health=health is not None)
    if ctx.readiness.fatal:
        # Dead, out of memory or out of processes: nothing in the container can be judged.
        ctx.blockers[Phase.RUNTIME] = Blocker("start", ctx.readiness.message, ctx.readiness.hint)
    say("Checking the running container")


def _teardown(ctx: GradingContext) -> None:
    """Remove the container, the image and the staged copy; the sweep catches anything a crash left labelled."""
    # What runs in the background ends before the sweep, or it could make a network (or a copy) after it.
    for pending in (ctx.idle_health, ctx.networks):
        if pending is not None:
            with contextlib.suppress(Exception):
                pending.result(timeout=BACKGROUND_WAIT_S)
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


class DockerfileKind:
    name = "dockerfile"
    parallel_runtime_checks = True  # each probe asks the one container something; none changes it

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        needs = {Need.FILES, Need.DOCKERFILE, Need.IMAGE, Need.ENGINE, Need.CONTAINER}
        if spec.run_mode is RunMode.BATCH:
            needs.add(Need.JOB_RESULT)
        elif spec.port is not None:
            needs.add(Need.SERVER)
        return frozenset(needs)

    parse = staticmethod(_parse)
    build = staticmethod(_build)
    start = staticmethod(_start)
    teardown = staticmethod(_teardown)


KIND = DockerfileKind()
