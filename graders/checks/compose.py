"""Stack checks: a compose file Compose accepts, images that build, services that come up healthy in the
right order, a database kept private and persistent, credentials kept out of the file, and a service
that scales."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from graders.context import GradingContext
from graders.results import Category
from graders.spec import Check, Outcome, Phase
from graders.stack import StackCommandFailed

SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)", re.I)
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


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

    return Check(name, "Compose file valid and safe to run", points, Category.COMPOSE, Phase.STATIC, run, reports="parse")


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

    return Check(name, "Stack images build", points, Category.BUILD, Phase.BUILD, run, reports="build")


def stack_healthy(points: float, need_health: Sequence[str] = (), name: str = "stack_healthy") -> Check:
    """Every service up, and those with a healthcheck healthy; `need_health` must declare one."""

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
        states = {s: stack.health(s)[0] for s in compose.services}
        down = {s: st for s, st in states.items() if st not in ("healthy", "running")}
        if down:
            return Outcome.failed("The stack came up, then " + "; ".join(_why_down(ctx, s, st) for s, st in down.items()) + ".",
                                  "Read `docker compose logs SERVICE`; a service killed for memory needs less, or a "
                                  "`mem_limit` of its own.")
        return Outcome.passed(f"Up in {ctx.stack_seconds:.1f} s: " + ", ".join(f"{s} {st}" for s, st in states.items()) + ".")

    return Check(name, "Every service comes up healthy", points, Category.HEALTH, Phase.RUNTIME, run, reports="start")


def _why_down(ctx: GradingContext, service: str, status: str) -> str:
    _, stack = ctx.require_stack()
    state = stack.container(service).get("State") or {}
    if state.get("OOMKilled"):
        limit = (stack.container(service).get("HostConfig") or {}).get("Memory") or 0
        return f"`{service}` was killed for using more than its {limit / 2**20:.0f} MiB of memory"
    return f"`{service}` is {status} (exit code {state.get('ExitCode')})" if not state.get("Running") else f"`{service}` is {status}"


def _image_has_health(ctx: GradingContext, service: str) -> bool:
    _, stack = ctx.require_stack()
    return bool(((stack.container(service).get("Config") or {}).get("Healthcheck") or {}).get("Test"))


def waits_for_healthy(points: float, edges: Mapping[str, Sequence[str]], name: str = "waits_for_healthy") -> Check:
    """Start order from the file: each service waits for its dependencies to be healthy, not just started."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        problems = []
        for service, needs in edges.items():
            declared = ctx.compose.service(service).get("depends_on") or {}
            for dep in needs:
                condition = (declared.get(dep) or {}).get("condition")
                if condition != "service_healthy":
                    said = f"condition {condition}" if condition else "no depends_on entry"
                    problems.append(f"{service} → {dep} ({said})")
        if problems:
            return Outcome.failed("Not waiting for a healthy dependency: " + "; ".join(problems) + ".",
                                  "Write depends_on: {db: {condition: service_healthy}}: `service_started` only waits "
                                  "for the process, not for the database to accept connections.")
        pairs = ", ".join(f"{s} → {', '.join(d)}" for s, d in edges.items())
        return Outcome.passed(f"Each waits for a healthy dependency: {pairs}.")

    return Check(name, "Start order waits for healthy services", points, Category.COMPOSE, Phase.STATIC, run)


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

    return Check(name, f"{service} not published to the host", points, Category.SECURITY, Phase.STATIC, run)


def no_literal_secrets(points: float, name: str = "credentials_not_literal") -> Check:
    """Judged on the file as written (before interpolation): `${VAR}`, env files and secrets are fine."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        found = []
        for service in ctx.compose.services:
            raw = ctx.compose.raw_service(service)
            for key, value in _environment(raw.get("environment")).items():
                if SECRET_NAME.search(key) and not key.endswith("_FILE") and value and "${" not in value:
                    found.append(f"{service}: {key}")
            command = raw.get("command")
            text = " ".join(command) if isinstance(command, list) else str(command or "")
            for match in URL_PASSWORD.finditer(text):
                if "${" not in match.group(1) and "$$" not in match.group(1):
                    found.append(f"{service}: a password inside a URL in `command`")
        if found:
            return Outcome.failed("Credentials written into the compose file: " + "; ".join(found) + ".",
                                  "Put them in an env file that git ignores (env_file: .env, or ${VAR} read from .env), "
                                  "or in a secret mounted as a file (POSTGRES_PASSWORD_FILE=/run/secrets/...).")
        return Outcome.passed("No password, token or key is written into the compose file.")

    return Check(name, "Credentials kept out of the compose file", points, Category.SECURITY, Phase.STATIC, run)


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

    return Check(name, "Data survives down and up", points, Category.COMPOSE, Phase.RUNTIME, run, tags=("volume",))


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

    return Check(name, f"{service} scales to {replicas} replicas", points, Category.COMPOSE, Phase.RUNTIME, run)


def request_service(ctx: GradingContext, service: str, port: int, method: str, path: str, body: Any = None,
                    timeout_s: float = 10.0, headers: dict[str, str] | None = None) -> requests.Response:
    """An HTTP request to a service's port as the grader published it on 127.0.0.1, retried while nothing answers."""
    _, stack = ctx.require_stack()
    host_port = stack.port(service, port)
    if host_port is None:
        raise requests.ConnectionError(f"`{service}` publishes no port for {port}")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return requests.request(method, f"http://127.0.0.1:{host_port}{path}", json=body, headers=headers, timeout=10)
        except requests.ConnectionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.25)
