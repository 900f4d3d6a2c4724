"""The steps of grading a swarm lab: read the learner's stack file (and refuse what is unsafe, as for Compose),
build their image and two of the grader's own from it (a second version, and one that cannot start), make a
single-node swarm in the course engine, deploy the stack there under a name of the run's, and at the end remove
the stack, leave the swarm and remove the images, whatever happened.

What the grader deploys is the learner's file with four changes, each for the grader's sake and none judged:
the API's image is the run's build; ports are not published (the checks reach the API on the stack's own
network, and a published port could clash with the learner's); the stack's networks are internal (a graded
stack reaches nothing outside, as in every lab); every container carries the run's label."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import yaml

from graders import build_fence, compose_model, engine, staging, swarm_mode
from graders.build import MAX_CONTEXT_BYTES, build_image
from graders.check_model import Need, Phase
from graders.compose_model import REFUSED_HINT, Refused
from graders.compose_policy import refusals
from graders.context import Blocker, GradingContext
from graders.errors import BuildFailed, GraderError, SubmissionError
from graders.kinds import run_cleanup
from graders.labels import IMAGE_REPO, RUN_LABEL, image_tag, run_labels
from graders.limits import Limits
from graders.spec import LabSpec
from graders.swarm_stack_model import (
    API,
    BROKEN,
    SECOND,
    STACK_FILE,
    SwarmRun,
    compose_bytes,
    compose_cpus,
    project_of,
    replicas_wanted,
)

Say = Callable[[str], None]
DEPLOYED_FILE = "mastery-stack.yaml"
STACK_VERSION = "3.9"  # older `docker stack deploy`s (Debian's 20.10) need one; newer ones ignore it


def parse(ctx: GradingContext, say: Say) -> None:
    say("Reading the stack file")
    try:
        ctx.build_dir = staging.stage(ctx.submission, ctx.spec.id, ctx.run_id, max_bytes=MAX_CONTEXT_BYTES,
                                      skip_suffixes=(".ipynb",))
        ctx.compose = compose_model.load(ctx.build_dir, STACK_FILE)
    except SubmissionError as exc:
        refused = isinstance(exc, Refused) or ctx.build_dir is None
        summary = ("the grader refused to run this stack (see compose_valid)." if refused
                   else "the stack file must be valid first (see compose_valid).")
        ctx.blockers[Phase.STATIC] = Blocker("parse", exc.message, exc.hint, summary=summary)
        return
    why = refusals(ctx.compose, ctx.build_dir, ctx.spec.limits.max_replicas, swarm=True)
    if API not in ctx.compose.services:
        why.append(f"there is no service `{API}` (the lab's model API)")
    if why:
        ctx.blockers[Phase.STATIC] = Blocker("parse", "Refused before anything started: " + "; ".join(why) + ".",
                                             REFUSED_HINT, summary="the grader refused to run this stack (see compose_valid).")


def build(ctx: GradingContext, say: Say) -> None:
    """The learner's Dockerfile, then the grader's two images made from it (tagged with the run, so the sweep
    removes them)."""
    assert ctx.build_dir is not None
    run = SwarmRun(project_of(ctx.run_id))
    ctx.swarm = run
    say("Building your image")
    limits, labels = ctx.spec.limits, run_labels(ctx.run_id, ctx.spec.id)
    deadline = time.monotonic() + limits.build_timeout_s
    first = image_tag(ctx.spec.id, ctx.run_id)
    try:
        # Fenced as every kind's builds are (graders/build_fence.py): the steps' memory and processes, together.
        with build_fence.fenced(labels, limits) as cgroup_parent:
            ctx.build = build_image(ctx.build_dir, ctx.build_dir / "Dockerfile", first, labels,
                                    timeout_s=max(1.0, deadline - time.monotonic()), buildkit=True, limits=limits,
                                    cgroup_parent=cgroup_parent)
            run.images["first"] = first
            derived = ctx.build_dir.parent / "derived"
            for name, lines in ((SECOND, ['LABEL io.mastery.rollout="second version"']),
                                (BROKEN, ['ENTRYPOINT ["/bin/sh", "-c", "echo this version is broken on purpose; exit 3"]',
                                          'HEALTHCHECK --interval=1s --retries=1 CMD ["false"]'])):
                folder = derived / name
                folder.mkdir(parents=True)
                (folder / "Dockerfile").write_text("\n".join([f"FROM {first}", *lines]) + "\n")
                tag = f"{IMAGE_REPO}/{ctx.spec.id}-{name}:{ctx.run_id}"
                build_image(folder, folder / "Dockerfile", tag, labels, timeout_s=max(1.0, deadline - time.monotonic()),
                            buildkit=True, limits=limits, cgroup_parent=cgroup_parent)
                run.images[name] = tag
    except (BuildFailed, GraderError) as exc:
        ctx.build_error = exc
        ctx.blockers[Phase.BUILD] = Blocker("build", f"Your image did not build: {exc.message}",
                                            exc.hint or "Run `docker build .` in your folder to see the whole log.",
                                            summary="the image must build first (see image_builds).")


def deployed_stack(raw: dict[str, Any], image: str, run_id: str, limits: Limits) -> dict[str, Any]:
    """The learner's stack file as the grader deploys it (see the module's docstring); every replica is held
    to the grader's ceilings too, lower than the learner's own limits where those are higher or missing (the
    resource_limits check judges the file as written)."""
    stack = {key: value for key, value in raw.items() if key != "name"}
    stack.setdefault("version", STACK_VERSION)
    services = {name: dict(service or {}) for name, service in (stack.get("services") or {}).items()}
    for name, service in services.items():
        service.pop("build", None)
        service.pop("ports", None)
        labels = service.get("labels") or {}
        if isinstance(labels, list):
            labels = dict(str(item).partition("=")[::2] for item in labels)
        service["labels"] = {**labels, RUN_LABEL: run_id}
        if name == API:
            service["image"] = image
        service["deploy"] = _within_ceiling(dict(service.get("deploy") or {}), limits)
    stack["services"] = services
    networks = {name: dict(network or {}) for name, network in (stack.get("networks") or {}).items()}
    if any(not service.get("networks") for service in services.values()):
        networks.setdefault("default", {})
    for network in networks.values():
        if not network.get("external"):
            network["internal"] = True
    stack["networks"] = networks
    return stack


def _within_ceiling(deploy: dict[str, Any], limits: Limits) -> dict[str, Any]:
    resources = dict(deploy.get("resources") or {})
    own = dict(resources.get("limits") or {})
    cpus, memory = compose_cpus(own.get("cpus")), compose_bytes(own.get("memory"))
    ceiling_cpus = limits.nano_cpus / 1e9
    own["cpus"] = f"{min(cpus, ceiling_cpus) if cpus else ceiling_cpus:g}"
    own["memory"] = str(min(memory, limits.memory_bytes) if memory else limits.memory_bytes)
    resources["limits"] = own
    deploy["resources"] = resources
    return deploy


def start(ctx: GradingContext, say: Say) -> None:
    run, compose = ctx.swarm, ctx.compose
    assert run is not None and compose is not None and ctx.build_dir is not None
    problem = swarm_mode.readiness_problem(course_engine=engine.site().shared_folder is not None)
    if problem is not None:
        ctx.blockers[Phase.RUNTIME] = Blocker("error", problem.message, problem.hint, step="start",
                                              summary="the grader could not make its swarm (see replicas_healthy).")
        return
    say("Making a swarm and deploying your stack")
    try:
        run.exit.enter_context(swarm_mode.swarm())
    except swarm_mode.NotReady as busy:
        ctx.blockers[Phase.RUNTIME] = Blocker("error", busy.message, busy.hint, step="start",
                                              summary="the grader could not make its swarm (see replicas_healthy).")
        return
    path = ctx.build_dir / DEPLOYED_FILE
    path.write_text(yaml.safe_dump(deployed_stack(compose.raw, run.images["first"], ctx.run_id, ctx.spec.limits), sort_keys=False))
    run.deployed = True
    done = swarm_mode.deploy(DEPLOYED_FILE, run.project, cwd=str(ctx.build_dir))
    if done.returncode != 0:
        ctx.blockers[Phase.RUNTIME] = Blocker(
            "start", f"`docker stack deploy` refused your stack: {(done.stderr or done.stdout).strip()[-600:]}",
            "Deploy it yourself to see the whole message: `docker swarm init`, then "
            f"`docker stack deploy -c {STACK_FILE} iris`.", summary="the stack must deploy first (see replicas_healthy).")
        return
    wanted = replicas_wanted(compose)
    say(f"Waiting for {wanted} healthy replicas")
    swarm_mode.wait_healthy(run.service(), wanted, ctx.spec.limits.health_budget_s)


def teardown(ctx: GradingContext) -> None:
    """The stack, then the swarm (with its bridge), then the run's images and containers, then the staged copy."""
    run = ctx.swarm
    if run is not None:
        try:
            if run.deployed:
                swarm_mode.remove_stack(run.project)
        finally:
            run.exit.close()  # leaves the swarm and gives the engine's swarm lock back
    run_cleanup.sweep_and_unstage(ctx)


class SwarmStackKind:
    name = "swarm-stack"
    parallel_runtime_checks = False  # the update checks change the service the others read

    def provides(self, spec: LabSpec) -> frozenset[Need]:
        return frozenset({Need.FILES, Need.COMPOSE_FILE, Need.IMAGE, Need.ENGINE, Need.SWARM})

    parse = staticmethod(parse)
    build = staticmethod(build)
    start = staticmethod(start)
    teardown = staticmethod(teardown)


KIND = SwarmStackKind()
