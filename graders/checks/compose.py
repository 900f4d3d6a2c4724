"""Stack checks: a compose file Compose accepts, images that build, services that come up healthy in the
right order, a database kept private and persistent, credentials kept out of the file, a service that
scales, a stack healthy from clean within a time budget, and a `down -v` that leaves nothing behind."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graders import engine, health_probe
from graders.check_model import Check, Need, Outcome, Phase
from graders.compose_cli import StackCommandFailed
from graders.compose_model import DEFAULT_INTERVAL_S
from graders.context import GradingContext
from graders.durations import seconds_or_zero
from graders.labels import run_labels
from graders.results import Category
from graders.stack import COMPLETED, awaited_jobs, finished_well

SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)", re.I)
URL_PASSWORDS = (re.compile(r"://[^:/@\s]+:([^@\s]+)@"), re.compile(r"[?&](?:password|pass|pwd)=([^&\s\"']+)", re.I))
# What Compose (or, written `$$`, the container's shell) fills in: `${VAR}`, `$VAR`, `$${VAR}`.
INTERPOLATED = re.compile(r"\$(\{|[A-Za-z_]|\$)")


def compose_valid(points: float, name: str = "compose_valid") -> Check:
    """Reports what blocks every other check: a file Compose rejects, or options the grader refuses."""

    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blocker_for(Phase.STATIC)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        compose = ctx.compose
        assert compose is not None
        said = f" Compose warned: {'; '.join(compose.warnings)}" if compose.warnings else ""
        return Outcome.passed(f"{compose.path.name} is valid: services {', '.join(compose.services)}.{said}")

    return Check(name, "Compose file valid and safe to run", points, Category.COMPOSE, (Need.COMPOSE_FILE,), run, reports="parse")


def stack_builds(points: float, name: str = "stack_builds") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blockers.get(Phase.BUILD)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        assert ctx.compose is not None
        built = [n for n, s in ctx.compose.services.items() if "build" in s]
        if not built:
            return Outcome.failed("No service builds an image from your folder.",
                                  "Give the services you wrote a `build:` with the folder of their Dockerfile.")
        return Outcome.passed(f"Built the images of {', '.join(built)}.")

    return Check(name, "Stack images build", points, Category.BUILD, (Need.STACK_IMAGES,), run, reports="build")


def stack_healthy(points: float, need_health: Sequence[str] = (), name: str = "stack_healthy") -> Check:
    """Every service up, and those with a healthcheck healthy; `need_health` must declare one. A one-off job
    that another service awaits (`service_completed_successfully`) counts once it has exited 0."""

    def run(ctx: GradingContext) -> Outcome:
        blocker = ctx.blockers.get(Phase.RUNTIME)
        if blocker is not None:
            return Outcome.failed(blocker.message, blocker.hint)
        compose, stack = ctx.require_stack()
        missing = [s for s in need_health if not (compose.service(s).get("healthcheck") or {}).get("test")
                   and not _image_has_health(ctx, s)]
        if missing:
            return Outcome.failed(f"The stack came up, but {', '.join(missing)} declare no healthcheck, so nothing "
                                  "knows when they are ready.",
                                  "Add a `healthcheck:` (test, interval, timeout, retries) to each of them.")
        jobs = awaited_jobs(compose.services)
        down = [why for s in compose.services if (why := stack.why_down(s, jobs))]
        if down:
            return Outcome.failed("The stack came up, then " + "; ".join(down) + ".",
                                  "Read `docker compose logs SERVICE`; a service killed for memory needs less, or a "
                                  "`mem_limit` of its own.")
        states = {s: "completed" if s in jobs and finished_well(stack.state(s)) else stack.health(s)[0] for s in compose.services}
        # A probe that passes where the service never started (HEALTHCHECK true, `|| true`) judges nothing.
        probes = {}
        for service in need_health:
            container = stack.container(service)
            test = ((container.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
            if test and test[0] != "NONE":
                probes[service] = (str(container.get("Image")), test)
        hollow = health_probe.checking_nothing(probes, run_labels(ctx.run_id, ctx.spec.id), ctx.spec.limits)
        if hollow:
            said = "; ".join(f"`{s}`'s (`{v.command}`)" for s, v in hollow.items())
            return Outcome.failed(f"The stack came up, but these healthchecks pass without their service: {said} "
                                  "exited 0 in an idle copy of the image where the service never started.",
                                  "Make each probe ask its service: an HTTP request to its health endpoint, pg_isready "
                                  "for PostgreSQL; never `|| true` or a command that always succeeds.")
        return Outcome.passed(f"Up in {ctx.stack_seconds:.1f} s: " + ", ".join(f"{s} {st}" for s, st in states.items()) + ".")

    return Check(name, "Every service comes up healthy", points, Category.HEALTH, (Need.STACK,), run, reports="start")


def _image_has_health(ctx: GradingContext, service: str) -> bool:
    _, stack = ctx.require_stack()
    return bool(((stack.container(service).get("Config") or {}).get("Healthcheck") or {}).get("Test"))


HEALTHY = "service_healthy"
WAIT_HINTS = {
    HEALTHY: "write depends_on: {db: {condition: service_healthy}}: `service_started` (and the short list form) only waits "
             "for the process to start, not for it to be ready",
    COMPLETED: "a one-off job is awaited with depends_on: {train: {condition: service_completed_successfully}}, which starts "
               "the service only after the job exited with status 0",
}


def waits_for_healthy(points: float, edges: Mapping[str, Sequence[str]], name: str = "waits_for_healthy") -> Check:
    """Start order from the file: each service waits for its dependencies to be healthy, not just started."""
    return waits_for(points, {s: dict.fromkeys(deps, HEALTHY) for s, deps in edges.items()}, name=name,
                     title="Start order waits for healthy services")


def waits_for(points: float, edges: Mapping[str, Mapping[str, str]], name: str = "waits_in_order",
              title: str = "Start order waits for ready services") -> Check:
    """Start order from the file: each service waits for each dependency under the condition given
    (`service_healthy` for a server, `service_completed_successfully` for a one-off job)."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        problems, missed = [], []
        for service, needs in edges.items():
            declared = ctx.compose.service(service).get("depends_on") or {}
            for dep, wanted in needs.items():
                condition = (declared.get(dep) or {}).get("condition")
                if condition != wanted:
                    said = f"condition {condition}" if condition else "no depends_on entry"
                    problems.append(f"{service} → {dep} ({said}, needs {wanted})")
                    missed.append(wanted)
        if problems:
            hint = "; ".join(WAIT_HINTS.get(w, f"use condition: {w}") for w in dict.fromkeys(missed))
            return Outcome.failed("Not waiting as it should: " + "; ".join(problems) + ".", hint[:1].upper() + hint[1:] + ".")
        pairs = ", ".join(f"{s} → {dep} ({how.removeprefix('service_').replace('_', ' ')})"
                          for s, needs in edges.items() for dep, how in needs.items())
        return Outcome.passed(f"Each service waits for what it needs: {pairs}.")

    return Check(name, title, points, Category.COMPOSE, (Need.COMPOSE_FILE,), run)


def not_published(points: float, service: str, name: str = "db_not_published") -> Check:
    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        ports = ctx.compose.service(service).get("ports") or []
        if ports:
            shown = ", ".join(f"{p.get('published') or '?'}:{p.get('target')}" for p in ports)
            return Outcome.failed(f"`{service}` publishes {shown} on the host.",
                                  f"Remove `ports:` from {service}: the other services reach it by name on the stack's "
                                  "network, and nobody outside needs to.")
        return Outcome.passed(f"`{service}` publishes no port; the other services reach it as `{service}` on the network.")

    return Check(name, f"{service} not published to the host", points, Category.SECURITY, (Need.COMPOSE_FILE,), run)


def no_literal_secrets(points: float, name: str = "credentials_not_literal") -> Check:
    """Judged on the file as written (before interpolation): `${VAR}`, env files and secrets are fine."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        found = []
        for service in ctx.compose.services:
            raw = ctx.compose.raw_service(service)
            environment = _environment(raw.get("environment"))
            for key, value in environment.items():
                if SECRET_NAME.search(key) and not key.endswith("_FILE") and value and not INTERPOLATED.search(value):
                    found.append(f"{service}: {key}")
            # A password in a URL (user:password@ or ?password=), wherever the service is given one.
            places = {"command": raw.get("command"), "entrypoint": raw.get("entrypoint"),
                      **{f"environment {key}": value for key, value in environment.items()}}
            for where, given in places.items():
                text = " ".join(map(str, given)) if isinstance(given, list) else str(given or "")
                if any(not INTERPOLATED.search(m.group(1)) for pattern in URL_PASSWORDS for m in pattern.finditer(text)):
                    found.append(f"{service}: a password inside a URL in `{where}`")
        if found:
            return Outcome.failed("Credentials written into the compose file: " + "; ".join(found) + ".",
                                  "Put them in an env file that git ignores (env_file: .env, or ${VAR} read from .env), "
                                  "or in a secret mounted as a file (POSTGRES_PASSWORD_FILE=/run/secrets/...).")
        return Outcome.passed("No password, token or key is written into the compose file.")

    return Check(name, "Credentials kept out of the compose file", points, Category.SECURITY, (Need.COMPOSE_FILE,), run)


def _environment(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        return {key: val for key, _, val in pairs}
    return {}


def data_persists(points: float, service: str, write: Sequence[str], read: Sequence[str], expect: str,
                  name: str = "data_persists") -> Check:
    """Write through the service, take the whole stack down (without -v), bring the service back, and read
    it back. Only that service comes back: the rest would add its start time and prove nothing more."""

    def run(ctx: GradingContext) -> Outcome:
        compose, stack = ctx.require_stack()
        code, out = stack.exec(service, list(write))
        if code != 0:
            return Outcome.failed(f"The grader could not write into `{service}` (exit {code}): {out.strip()[-300:]}",
                                  "Check the service's credentials and that it is healthy.")
        try:
            stack.down(volumes=False)
            stack.up(ctx.spec.limits.health_budget_s, service)
        except StackCommandFailed as exc:
            return Outcome.failed(f"After `docker compose down` the stack did not come back up: {exc.message}", exc.hint)
        code, out = stack.exec(service, list(read))
        if code == 0 and expect in out:
            return Outcome.passed(f"What the grader wrote into `{service}` was still there after `down` and `up`.")
        mounts = [m for m in compose.service(service).get("volumes") or [] if m.get("type") == "volume"]
        return Outcome.failed(f"After `down` and `up`, `{service}` no longer had what the grader wrote "
                              f"({'no named volume is mounted' if not mounts else out.strip()[-200:]}).",
                              "Mount a named volume at the service's data folder (e.g. pgdata:/var/lib/postgresql/data) "
                              "and declare it under the top-level `volumes:`.")

    return Check(name, "Data survives down and up", points, Category.COMPOSE, (Need.STACK,), run, tags=("volume",))


def scales(points: float, service: str, replicas: int = 3, name: str = "api_scales") -> Check:
    """Judged on the file (no fixed container name, no fixed host port) and for real (`up --scale`)."""

    def run(ctx: GradingContext) -> Outcome:
        compose, stack = ctx.require_stack()
        spec = compose.service(service)
        problems = []
        if spec.get("container_name"):
            problems.append(f"it has a fixed container_name ({spec['container_name']}), and names are unique")
        fixed = [str(p.get("published")) for p in spec.get("ports") or [] if str(p.get("published") or "").isdigit()]
        if fixed:
            problems.append(f"it publishes fixed host port {', '.join(fixed)}, which only one replica can hold")
        if problems:
            return Outcome.failed(f"`{service}` cannot run {replicas} replicas: " + "; ".join(problems) + ".",
                                  "Drop container_name, and publish a range (\"8000-8002:8000\") or no host port "
                                  "(put a proxy in front).")
        try:
            stack.up(ctx.spec.limits.health_budget_s, service, scale={service: replicas})
        except StackCommandFailed as exc:
            return Outcome.failed(f"`docker compose up --scale {service}={replicas}` failed: {exc.message}", exc.hint)
        running = stack.containers(service, include_stopped=False)
        healthy = [c for c in running if ((c.get("State") or {}).get("Health") or {}).get("Status", "healthy") == "healthy"]
        if len(healthy) < replicas:
            return Outcome.failed(f"Asked for {replicas} replicas of `{service}`; {len(healthy)} are healthy.",
                                  "Read `docker compose logs` of the extra replicas.")
        return Outcome.passed(f"{replicas} replicas of `{service}` ran side by side, all healthy.")

    return Check(name, f"{service} scales to {replicas} replicas", points, Category.COMPOSE, (Need.STACK,), run)


def leaves_nothing(points: float, name: str = "down_leaves_nothing") -> Check:
    """The grader runs `docker compose down -v` itself, then looks for what is left. Run it last: it takes the
    stack down.

    Two kinds of leftovers. Containers, networks and volumes of the project: under the grader's contained run a
    learner's file cannot leave any (the grader names the project, refuses external volumes and networks, drops
    fixed names, and `down -v` removes the containers, the networks, the named volumes and the anonymous volumes
    of the containers it removes), so that part guards the grader and Compose rather than judging the learner.
    What a file can leave behind is on the machine itself: what containers wrote into the project folder through
    bind mounts, which no `down` removes (often owned by a container's user, so removing it needs root)."""

    def run(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        try:
            stack.down(volumes=True)
        except StackCommandFailed as exc:
            return Outcome.failed(f"`docker compose down -v` failed: {exc.message}", "Run it in your folder and read what it says.")
        left = [f"{len(names)} {kind} ({', '.join(names[:3])})" for kind, names in stack.leftovers().items() if names]
        written = _written_through_binds(ctx)
        if left or written:
            return Outcome.failed("After `docker compose down -v` some of the stack is still there: "
                                  + "; ".join(left + written) + ".",
                                  "Keep what the stack writes (databases, models, artifacts) in named volumes declared under "
                                  "the top-level `volumes:`: `down -v` removes them. Bind-mount only what you edit yourself, "
                                  "such as notebooks.")
        return Outcome.passed("After `docker compose down -v` the project has no container, network or volume left, and "
                              "nothing was written into your folder through a bind mount.")

    return Check(name, "`docker compose down -v` leaves nothing behind", points, Category.COMPOSE, (Need.STACK,), run,
                 tags=("volume",))


def _written_through_binds(ctx: GradingContext) -> list[str]:
    """What the stack's containers wrote into the (grader's copy of the) project folder through bind mounts:
    files and folders there that the submission did not have."""
    compose, _ = ctx.require_stack()
    assert ctx.build_dir is not None
    planted = {name for name, _ in ctx.spec.plant}
    found = []
    for service, spec in compose.services.items():
        for mount in spec.get("volumes") or []:
            source = Path(str(mount.get("source") or ""))
            if mount.get("type") != "bind" or not source.exists() or not source.is_relative_to(ctx.build_dir):
                continue
            rel = source.relative_to(ctx.build_dir)
            original = ctx.submission / rel
            new = [p for p in _tree(source) if not (original / p).exists() and str(rel / p) not in planted]
            if not original.exists():
                found.append(f"`{service}` made ./{rel} through a bind mount (Docker created it, owned by uid "
                             f"{source.stat().st_uid}), with {len(new)} files and folders in it")
            elif new:
                found.append(f"`{service}` wrote {len(new)} files and folders into ./{rel} through a bind mount "
                             f"({', '.join(str(p) for p in new[:3])})")
    return found


def _tree(folder: Path) -> list[Path]:
    """Every path under `folder`, relative to it; what cannot be read (another user's private folder) is skipped."""
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        out += [(Path(root) / name).relative_to(folder) for name in (*dirs, *files)]
    return sorted(out)


# How much longer than the budget the grader's own run may take. The declared intervals are the learner's
# doing and are held to the budget exactly; the measured time also depends on how busy the machine is (seen:
# 65 s for a correct stack, with two other gradings running beside it; 96.7 s for ml-pipeline's venv
# alternative in make test, three workers on two cores), and a loaded machine must not
# cost a correct stack its points. A start that is really slow (a week-long training run) still fails.
MEASURED_SLACK = 2.0


def up_within_budget(points: float, budget_s: float, name: str = "comes_up_within_budget") -> Check:
    """From clean (no container, no volume; images built) to every service healthy within `budget_s`.

    Two figures are judged. The grader's own `up --wait` (`ctx.stack_seconds`), which probes every
    healthcheck far more often than declared, against the budget with MEASURED_SLACK. And the least time the same stack needs on the
    learner's machine with the declared intervals: Docker runs a container's first probe one interval after it
    starts (or one `start_interval`, during a `start_period`, on Engine 25 and later), so along each chain of
    `depends_on` the intervals add up (a healthcheck without an interval probes every 30 s)."""

    def run(ctx: GradingContext) -> Outcome:
        floor, chain = _interval_floor(ctx)
        measured = ctx.stack_seconds
        probe = ctx.spec.limits.compose_health_interval_s
        allowed = budget_s * MEASURED_SLACK
        said = (f"The stack came up from clean in {measured:.1f} s in the grader's run (it probes every {probe:g} s; "
                f"allowed {allowed:.0f} s there, since a busy machine starts everything slower). With "
                f"your healthchecks' intervals it needs at least {floor:.0f} s on your machine"
                + (f" ({' → '.join(chain)})" if chain else "") + f". The budget is {budget_s:.0f} s.")
        if floor > budget_s or measured > allowed:
            return Outcome.failed(said, "Probe every 5 to 10 s (`interval`), give a slow starter a `start_period` rather than "
                                        "a long interval, and size the training run for a demo, not for a week.")
        return Outcome.passed(said)

    return Check(name, f"Healthy from clean within {budget_s:.0f} s", points, Category.HEALTH, (Need.STACK,), run)


def _interval_floor(ctx: GradingContext) -> tuple[float, list[str]]:
    """The longest chain of declared healthcheck intervals along `depends_on`: no `up --wait` can be faster.
    A service starts once what it depends on is healthy or completed (or merely started, for `service_started`),
    and is healthy one interval later at the earliest."""
    compose, _ = ctx.require_stack()
    intervals = {s: _declared_interval(ctx, s) for s in compose.services}
    memo: dict[str, tuple[float, list[str]]] = {}

    def start_at(service: str) -> tuple[float, list[str]]:
        deps = compose.service(service).get("depends_on") or {}
        return max((start_at(dep) if (how or {}).get("condition") == "service_started" else ready_at(dep)
                    for dep, how in deps.items() if dep in intervals), default=(0.0, []))

    def ready_at(service: str) -> tuple[float, list[str]]:
        if service not in memo:
            start, chain = start_at(service)
            own = intervals[service]
            memo[service] = (start + own, chain + ([f"{service} {own:g} s"] if own else []))
        return memo[service]

    return max((ready_at(s) for s in compose.services), default=(0.0, []))


def _declared_interval(ctx: GradingContext, service: str) -> float:
    """How long after its start a service's first probe runs, as the learner declared it (in the file, else in
    its image); 0 without a healthcheck. That is the interval, or the `start_interval` during a `start_period`
    (Docker Engine 25 and later), whichever comes first."""
    compose, stack = ctx.require_stack()
    health = compose.service(service).get("healthcheck") or {}
    if health.get("disable") or health.get("test") in (["NONE"], "NONE"):
        return 0.0
    if health.get("test"):
        written = {key: seconds_or_zero(str(health.get(key) or "")) for key in ("interval", "start_interval", "start_period")}
        interval = written["interval"] or DEFAULT_INTERVAL_S
        early = written["start_interval"] if written["start_period"] else 0
        return min(interval, early) if early else interval
    image = (stack.container(service).get("Image") or "") if stack.containers(service) else ""
    declared = ((engine.client().api.inspect_image(image).get("Config") or {}).get("Healthcheck") or {}) if image else {}
    if not declared.get("Test") or declared["Test"][0] == "NONE":
        return 0.0
    interval = float(declared.get("Interval") or 0) / 1e9 or DEFAULT_INTERVAL_S
    early = float(declared.get("StartInterval") or 0) / 1e9 if declared.get("StartPeriod") else 0.0
    return min(interval, early) if early else interval
