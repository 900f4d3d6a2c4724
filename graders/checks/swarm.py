"""Checks of a stack deployed in the grader's swarm: replicas and their health, the overlay network, a secret
and a config mounted as files, update and resource settings, a rolling update the API answers throughout, and
an update to a broken image that Swarm rolls back by itself.

Settings are read from the service as Swarm holds it (`docker service inspect`), so every way of writing them
(short or long syntax, another name for the secret) is judged by what it does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graders import engine, swarm_mode
from graders.check_model import Check, Need, Outcome, judge
from graders.context import GradingContext
from graders.exec_probe import exec_in
from graders.results import Category
from graders.swarm_probe import probing
from graders.swarm_stack_model import API, BROKEN, SECOND, SwarmRun, compose_bytes, compose_cpus, replicas_wanted

NEEDS = (Need.SWARM,)
READ_TIMEOUT_S = 10.0
UPDATE_BUDGET_S = 150.0  # three replicas, each started, made healthy and waited for
DEPLOY_HINT = ("Deploy it yourself and watch: `docker stack deploy -c stack.yaml iris`, then `docker service ps iris_api` "
               "and `docker service inspect --pretty iris_api`.")


def _run(ctx: GradingContext) -> SwarmRun:
    assert ctx.swarm is not None, "swarm checks run only once the stack is deployed"
    return ctx.swarm


def _spec(ctx: GradingContext) -> dict[str, Any]:
    found = swarm_mode.service(_run(ctx).service()) or {}
    spec: dict[str, Any] = found.get("Spec") or {}
    return spec


def _networks(ctx: GradingContext) -> list[str]:
    """The networks the API's tasks are attached to, as Swarm holds them (ids)."""
    return [str(n.get("Target")) for n in (_spec(ctx).get("TaskTemplate") or {}).get("Networks") or []]


def _container_spec(ctx: GradingContext) -> dict[str, Any]:
    spec: dict[str, Any] = (_spec(ctx).get("TaskTemplate") or {}).get("ContainerSpec") or {}
    return spec


def replicas_healthy(points: float, replicas: int, name: str = "replicas_healthy") -> Check:
    """`replicas` tasks of the API run and their healthcheck passes."""

    def run(ctx: GradingContext) -> Outcome:
        swarm = _run(ctx)
        wanted = (_spec(ctx).get("Mode") or {}).get("Replicated", {}).get("Replicas")
        problems = []
        if wanted != replicas:
            problems.append(f"the service asks for {wanted if wanted is not None else 'a global mode, not'} replicas, "
                            f"not {replicas} (`deploy.replicas`)")
        if not _container_spec(ctx).get("Healthcheck") and not _image_health(ctx):
            problems.append("it has no healthcheck, so Swarm counts a replica as ready the moment its process starts")
        healthy = swarm_mode.healthy_replicas(swarm.service())
        if len(healthy) < min(replicas, int(wanted or 0) or replicas):
            failing = [t for t in swarm_mode.tasks(swarm.service()) if t.state in ("failed", "rejected") and t.error]
            seen = f"; a failed task said: {failing[0].error}" if failing else ""
            problems.append(f"{len(healthy)} replica(s) were running and healthy after "
                            f"{ctx.spec.limits.health_budget_s:.0f} s{seen}")
        return judge(problems, f"{len(healthy)} replicas of `{API}` run, each healthy.", DEPLOY_HINT, 3)

    return Check(name, f"{replicas} healthy replicas", points, Category.HEALTH, NEEDS, run, reports="start")


def _image_health(ctx: GradingContext) -> bool:
    attrs = engine.client().api.inspect_image(_run(ctx).images["first"])
    test = ((attrs.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE"


def overlay_network(points: float, name: str = "overlay_network") -> Check:
    """The API is on an overlay network the stack declares by name (not only the stack's default one)."""

    def run(ctx: GradingContext) -> Outcome:
        swarm = _run(ctx)
        named = []
        for network in _networks(ctx):
            attrs = engine.client().api.inspect_network(network)
            short = str(attrs.get("Name", "")).removeprefix(f"{swarm.project}_")
            if attrs.get("Driver") == "overlay" and short != "default":
                named.append(short)
        if named:
            return Outcome.passed(f"`{API}` is on the overlay network(s) {', '.join(f'`{n}`' for n in named)}.")
        return Outcome.failed(f"`{API}` is only on the stack's default network.",
                              "Declare a network under the top-level `networks:` (with `driver: overlay`) and list it "
                              f"under the `{API}` service's `networks:`.")

    return Check(name, "On a named overlay network", points, Category.COMPOSE, NEEDS, run)


def _mounted(ctx: GradingContext, key: str) -> tuple[list[dict[str, Any]], str | None]:
    """The service's secrets or configs, and a running replica's container to read them in."""
    items = _container_spec(ctx).get(key) or []
    replicas = swarm_mode.healthy_replicas(_run(ctx).service()) or swarm_mode.running(_run(ctx).service())
    return items, replicas[0].container if replicas else None


def _source_text(ctx: GradingContext, kind: str, swarm_name: str) -> str | None:
    """What the stack file gave a secret or config, read from the file it names in the submission."""
    assert ctx.compose is not None
    short = swarm_name.removeprefix(f"{_run(ctx).project}_")
    for name, item in (ctx.compose.model.get(kind) or {}).items():
        if (item or {}).get("name", name) in (short, swarm_name) or name == short:
            source = (item or {}).get("file")
            if source and Path(source).is_file():
                return Path(source).read_text(encoding="utf-8", errors="replace")
            if (item or {}).get("content") is not None:
                return str(item["content"])
    return None


def mounted_file(points: float, kind: str, name: str) -> Check:
    """A secret (or config) of the stack is a file in the API's containers, holding what the stack's file holds.
    For a secret, its value must not also be in the service's environment."""
    key, noun = ("Secrets", "secret") if kind == "secrets" else ("Configs", "config")

    def run(ctx: GradingContext) -> Outcome:
        items, container = _mounted(ctx, key)
        if not items:
            return Outcome.failed(f"`{API}` has no {noun}.",
                                  f"Declare it under the top-level `{kind}:` with `file: ./…`, and list it under the "
                                  f"`{API}` service's `{kind}:`.")
        if container is None:
            return Outcome.failed(f"No replica of `{API}` runs to read its {noun} in.", DEPLOY_HINT)
        problems, seen = [], []
        for item in items:
            target = str((item.get("File") or {}).get("Name") or "")
            path = target if target.startswith("/") else f"/run/secrets/{target}" if kind == "secrets" else f"/{target}"
            code, text = exec_in(container, ["cat", path], READ_TIMEOUT_S)
            expected = _source_text(ctx, kind, str(item.get(f"{noun.capitalize()}Name", "")))
            if code != 0:
                problems.append(f"`{path}` could not be read in a replica ({text.strip()[:120]})")
            elif expected is not None and text != expected:
                problems.append(f"`{path}` does not hold what its file in your folder holds")
            else:
                seen.append(path)
                if kind == "secrets" and expected and expected.strip() in " ".join(_container_spec(ctx).get("Env") or []):
                    problems.append(f"the value of `{path}` is also in the service's environment, where "
                                    "`docker service inspect` shows it to anyone")
        return judge(problems, f"The {noun} is a file in each replica: {', '.join(f'`{p}`' for p in seen)}.",
                     f"List the {noun} under the `{API}` service's `{kind}:`; Swarm mounts it as a file.", 3)

    return Check(name, f"A {noun} mounted as a file", points, Category.SECURITY if kind == "secrets" else Category.COMPOSE,
                 NEEDS, run)


def update_policy(points: float, replicas: int, name: str = "update_policy") -> Check:
    """Rolling: a few replicas at a time, a pause between them, the new one started before the old stops, and a
    failed update rolled back."""

    def run(ctx: GradingContext) -> Outcome:
        config = _spec(ctx).get("UpdateConfig") or {}
        problems = []
        parallelism = int(config.get("Parallelism", 1))
        if parallelism == 0 or parallelism >= replicas:
            problems.append(f"`parallelism: {parallelism}` updates every replica at once; update fewer than {replicas}")
        if not config.get("Delay"):
            problems.append("no `delay` between batches: a bad version reaches every replica before anyone notices")
        if config.get("FailureAction", "pause") != "rollback":
            problems.append(f"`failure_action` is `{config.get('FailureAction', 'pause')}`, not `rollback`: a failed "
                            "update stops half-done")
        if config.get("Order", "stop-first") != "start-first":
            problems.append(f"`order` is `{config.get('Order', 'stop-first')}`, not `start-first`: each replica stops "
                            "before its successor is ready")
        delay = f"{config.get('Delay', 0) / 1e9:g} s"
        return judge(problems, f"Updates {parallelism} at a time, {delay} apart, start-first, rolled back on failure.",
                     "Set them under the service's `deploy.update_config:`.", 4)

    return Check(name, "Rolling-update settings", points, Category.COMPOSE, NEEDS, run)


def resource_limits(points: float, name: str = "resource_limits") -> Check:
    """The stack file limits the API's CPU and memory (read from the file: the grader's own ceilings apply to
    every replica it runs, limits or not)."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        limits = ((ctx.compose.service(API).get("deploy") or {}).get("resources") or {}).get("limits") or {}
        cpus, memory = compose_cpus(limits.get("cpus")), compose_bytes(limits.get("memory"))
        problems = []
        if not cpus:
            problems.append("no CPU limit (`deploy.resources.limits.cpus`)")
        if not memory:
            problems.append("no memory limit (`deploy.resources.limits.memory`)")
        return judge(problems, f"Each replica is limited to {cpus:g} CPU and {memory // 2**20} MiB.",
                     "One runaway replica must not starve the others on the node: set both limits.", 2)

    return Check(name, "CPU and memory limits", points, Category.SECURITY, (Need.COMPOSE_FILE,), run)


def rolling_update(points: float, path: str = "/health", name: str = "rolling_update") -> Check:
    """An update to a second version goes through to every replica while a client on the stack's network gets an
    answer to every request."""

    def run(ctx: GradingContext) -> Outcome:
        swarm, port = _run(ctx), ctx.spec.port or 8000
        network = next(iter(_networks(ctx)), None)
        if network is None:
            return Outcome.failed(f"`{API}` is on no network the grader's client can join.", DEPLOY_HINT)
        wanted = replicas_wanted(ctx.compose) if ctx.compose else 1
        with probing(swarm.project, network, swarm.service(), port, path, ctx.spec.base_images[0], ctx.run_id) as probe:
            if not probe.wait_answering():
                return Outcome.failed(f"A client on the stack's network got no answer from `{API}` on port {port} "
                                      f"(GET {path}), before any update.",
                                      f"The API must listen on 0.0.0.0:{port} in its container.")
            probe.mark()
            started = swarm_mode.update_image(swarm.service(), swarm.images[SECOND])
            if started.returncode != 0:
                return Outcome.error(f"The grader could not start the update: {started.stderr.strip()[-300:]}")
            state = swarm_mode.wait_update(swarm.service(), UPDATE_BUDGET_S)
            log = probe.since_mark()
        on_second = [t for t in swarm_mode.running(swarm.service()) if t.image.split("@")[0] == swarm.images[SECOND]]
        problems = []
        if state != "completed":
            problems.append(f"the update ended `{state or 'unstarted'}`, not `completed`, within {UPDATE_BUDGET_S:.0f} s")
        if len(on_second) < wanted:
            problems.append(f"{len(on_second)} of {wanted} replicas run the new version afterwards")
        if log.failed:
            problems.append(f"{len(log.failed)} of {log.answered + len(log.failed)} requests during the update got no "
                            f"answer (first: {log.failed[0].removeprefix('fail ')})")
        return judge(problems, f"Updated all {wanted} replicas; {log.answered} requests during the update, every one "
                               "answered.",
                     "Start-first order with a healthcheck keeps a replica serving until its successor is healthy; "
                     "`docker service ps iris_api` shows each step of an update.", 3)

    return Check(name, "Rolling update without a failed request", points, Category.HEALTH, NEEDS, run)


def rolls_back(points: float, name: str = "rolls_back") -> Check:
    """An update to an image that cannot start is rolled back by Swarm itself, and the replicas run again."""

    def run(ctx: GradingContext) -> Outcome:
        swarm = _run(ctx)
        before = {t.image.split("@")[0] for t in swarm_mode.running(swarm.service())}
        started = swarm_mode.update_image(swarm.service(), swarm.images[BROKEN])
        if started.returncode != 0:
            return Outcome.error(f"The grader could not start the update: {started.stderr.strip()[-300:]}")
        state = swarm_mode.wait_update(swarm.service(), UPDATE_BUDGET_S)
        wanted = replicas_wanted(ctx.compose) if ctx.compose else 1
        healthy = swarm_mode.wait_healthy(swarm.service(), wanted, 30.0) if state == "rollback_completed" else []
        on_broken = [t for t in swarm_mode.running(swarm.service()) if t.image.split("@")[0] == swarm.images[BROKEN]]
        if state == "rollback_completed" and not on_broken and len(healthy) >= wanted:
            return Outcome.passed(f"Swarm rolled the broken update back by itself; {len(healthy)} healthy replicas run "
                                  f"the version from before ({', '.join(sorted(before)) or 'unknown'}).")
        said = {"paused": "Swarm paused the update half-done and left it there",
                "completed": "the update to the broken image completed"}.get(state, f"the update ended `{state}`")
        return Outcome.failed(f"An update to an image that exits at once: {said}, and {len(on_broken)} replica(s) run "
                              "the broken image.",
                              "`failure_action: rollback` under `deploy.update_config` makes Swarm go back by itself "
                              "when an updated replica fails.")

    return Check(name, "A failed update rolls back by itself", points, Category.HEALTH, NEEDS, run)
