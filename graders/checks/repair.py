"""Repair checks: the faults of a broken stack, each judged where it shows.

A host-port clash never happens in the grader's own run (it publishes every port on one the engine picks),
so it is read from the learner's file. The rest is asked of the engine: a healthcheck's program is looked up
in the service's image with `command -v`; the service that writes into a volume is asked which user it runs
as and who owns what it wrote; a service that needs the database is judged on its start order, and on
whether it died of a connection error all the same.

The runtime checks here also judge a stack that did not come up (`reports="start"`), on the containers that
did start: a broken stack usually has several faults, and each should be named by its own check rather than
hidden behind the one that stopped the stack.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker.errors
import requests

from graders import compose_model, engine, health_probe
from graders.check_model import Check, Need, Outcome
from graders.compose_cli import gist
from graders.context import GradingContext
from graders.errors import ContainerFailed
from graders.labels import run_labels
from graders.probes import psql, request_service
from graders.results import Category
from graders.stack import Stack

WILDCARD = ("", "0.0.0.0", "::", "[::]")
SHELL_OPERATORS = {"&&", "||", "|", ";", "&", "(", ")", "!", "{", "}", ";;"}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
CHECKS_NOTHING = {"true", ":", "exit", "echo"}  # a probe made of these passes whatever the service does
PROBE_TIMEOUT_S = 30
CONNECTION_ERROR = re.compile(r"OperationalError|connection refused|could not connect|connection failed", re.I)


# --- host ports (static) --------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostPorts:
    """The host ports one `ports:` entry claims: which address, which range, which protocol."""

    service: str
    host_ip: str
    first: int
    last: int
    protocol: str
    written: str  # as it would be written in the file, e.g. "8080:8080"

    def overlap(self, other: HostPorts) -> int | None:
        """The first port both claim, or None. 0.0.0.0 (no address) takes the port on every address."""
        same_address = self.host_ip in WILDCARD or other.host_ip in WILDCARD or self.host_ip == other.host_ip
        if self.protocol != other.protocol or not same_address:
            return None
        first, last = max(self.first, other.first), min(self.last, other.last)
        return first if first <= last else None


def host_ports(compose: compose_model.ComposeModel) -> list[HostPorts]:
    """Every fixed host port the file publishes; a port without a host side gets a free one, and cannot clash."""
    found: list[HostPorts] = []
    for service, spec in compose.services.items():
        for port in spec.get("ports") or []:
            published = str(port.get("published") or "")
            first, _, last = published.partition("-")
            if not first.isdigit() or not (last or first).isdigit():
                continue
            host_ip = str(port.get("host_ip") or "")
            protocol = str(port.get("protocol") or "tcp")
            written = f"{host_ip + ':' if host_ip else ''}{published}:{port.get('target')}"
            found.append(HostPorts(service, host_ip, int(first), int(last or first), protocol,
                                   written + ("" if protocol == "tcp" else f"/{protocol}")))
    return found


def _replicas(spec: dict[str, Any]) -> int:
    replicas = (spec.get("deploy") or {}).get("replicas") or spec.get("scale") or 1
    return int(replicas)


def host_ports_free(points: float, held: Mapping[int, str] | None = None, name: str = "host_ports_free") -> Check:
    """No two services (nor two replicas) claim one host port, and none claims a port that something always
    running beside the stack holds (`held`: port -> what holds it). Judged on the file: the grader's own run
    publishes every port on a free one, so a clash never shows there."""
    held = dict(held or {})

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        claims = host_ports(ctx.compose)
        clashes: list[tuple[int, str]] = []
        taken: list[str] = []
        for i, a in enumerate(claims):
            for b in claims[i + 1:]:
                port = a.overlap(b)
                if port is not None and a.service == b.service:
                    clashes.append((port, f"`{a.service}` publishes host port {port} twice ({a.written} and {b.written})"))
                elif port is not None:
                    clashes.append((port, f"`{a.service}` ({a.written}) and `{b.service}` ({b.written}) both publish host "
                                          f"port {port}"))
            replicas = _replicas(ctx.compose.service(a.service))
            if replicas > a.last - a.first + 1:
                clashes.append((a.first, f"the {replicas} replicas of `{a.service}` all publish host port {a.first} "
                                         f"({a.written})"))
            for port, holder in sorted(held.items()):
                if a.protocol == "tcp" and a.first <= port <= a.last:
                    taken.append(f"`{a.service}` publishes host port {port} ({a.written}), which {holder} holds")
        if clashes or taken:
            said = []
            if clashes:
                said.append("; ".join(text for _, text in clashes) + ". Only one container can have a host port: the "
                            f"second to start fails with `Bind for 0.0.0.0:{clashes[0][0]} failed: port is already "
                            "allocated`.")
            if taken:
                said.append("; ".join(taken) + ": Docker would fail with `address already in use`.")
            return Outcome.failed(" ".join(said),
                                  "Give each service a host port of its own. Only the left-hand number is the host's: "
                                  "\"8081:8080\" keeps the container on 8080. `docker ps --filter publish=PORT` and "
                                  "`ss -ltnp` show who holds a port.")
        shown = ", ".join(f"{c.service} {c.first}" + (f"-{c.last}" if c.last != c.first else "") for c in claims)
        spared = f"; none is {' or '.join(str(p) for p in sorted(held))}, held outside the stack" if held else ""
        if not claims:
            return Outcome.passed("No service publishes a fixed host port, so none can clash" + spared + ".")
        return Outcome.passed(f"Each host port is claimed once ({shown}){spared}.")

    return Check(name, "No two services claim one host port", points, Category.COMPOSE, (Need.COMPOSE_FILE,), run,
                 tags=("ports",))


# --- healthcheck programs (build) -----------------------------------------------------------------------

class CannotLook(Exception):
    """The grader could not run `command -v` in an image (no shell in it, or the engine refused)."""


def service_image(ctx: GradingContext, service: str) -> str:
    """The image a service runs: the one the grader built for it, or the one it names."""
    assert ctx.compose is not None
    spec = ctx.compose.service(service)
    if "build" in spec:
        return compose_model.built_image_tag(ctx.spec.id, service, ctx.run_id)
    return str(spec.get("image") or "")


def health_test(spec: dict[str, Any], image: str) -> list[str]:
    """The healthcheck a service runs: its own `healthcheck.test`, else the image's HEALTHCHECK; [] for none."""
    declared = spec.get("healthcheck") or {}
    if declared.get("disable"):
        return []
    test = [str(t) for t in declared.get("test") or []]
    if not test and image:
        try:
            config = engine.client().api.inspect_image(image).get("Config") or {}
        except docker.errors.DockerException:
            config = {}
        test = [str(t) for t in (config.get("Healthcheck") or {}).get("Test") or []]
    return [] if not test or test[0] == "NONE" else test


def probe_programs(test: Sequence[str]) -> list[str]:
    """The programs a healthcheck starts: CMD's first word, or each command of a CMD-SHELL line."""
    if test and test[0] == "CMD":
        return list(test[1:2])
    if test and test[0] == "CMD-SHELL":
        return shell_commands(" ".join(test[1:]))
    return []


def shell_commands(line: str) -> list[str]:
    """The command words of a shell line (`a -x && VAR=1 b | c` gives a, b, c), enough for a healthcheck."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: the shell would refuse it too; judge the first word
        tokens = line.split()[:1]
    commands: list[str] = []
    expect_command = True
    for token in tokens:
        if token in SHELL_OPERATORS:
            expect_command = True
        elif expect_command and not ASSIGNMENT.match(token):
            if token not in commands:
                commands.append(token)
            expect_command = False
    return commands


def missing_programs(ctx: GradingContext, image: str, programs: Sequence[str]) -> list[str]:
    """The programs `command -v` cannot find in a short-lived container of the image (no network, the image's
    own user and PATH), removed with its volumes whatever happens."""
    probe = "; ".join(f"command -v {shlex.quote(p)} >/dev/null 2>&1 || echo {shlex.quote(p)}" for p in programs)
    api = engine.client().api
    limits = ctx.spec.limits
    try:
        created = api.create_container(
            image, command=["-c", probe + "; true"], entrypoint=["/bin/sh"], labels=run_labels(ctx.run_id, ctx.spec.id),
            network_disabled=True, host_config=api.create_host_config(
                network_mode="none", mem_limit=limits.memory_bytes, pids_limit=limits.pids,
                security_opt=["no-new-privileges"]))
    except docker.errors.DockerException as exc:
        raise CannotLook(f"the image {image} could not be used ({gist(str(exc))})") from exc
    try:
        api.start(created)
        status = api.wait(created, timeout=PROBE_TIMEOUT_S)
        output = api.logs(created, stdout=True, stderr=False).decode(errors="replace")
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise CannotLook(f"its image has no /bin/sh to run `command -v` with ({gist(str(exc))})") from exc
    finally:
        with contextlib.suppress(docker.errors.DockerException):  # else the sweep at teardown finds its run label
            api.remove_container(created, v=True, force=True)
    if status.get("StatusCode") != 0:
        raise CannotLook(f"`command -v` exited {status.get('StatusCode')} in its image")
    return [p for p in output.split() if p in programs]


def healthcheck_tools_exist(points: float, required: Sequence[str], name: str = "healthcheck_tools_exist") -> Check:
    """Every healthcheck runs programs its image has, and the `required` services keep theirs. A probe that
    calls a missing program (curl in a python-slim image) fails on every try, however well the service runs;
    deleting the probe hides that instead of fixing it. Asked of the built images, so it is judged even when
    the stack does not come up; whether the probes pass is stack_healthy's part."""

    def run(ctx: GradingContext) -> Outcome:
        assert ctx.compose is not None
        problems: list[str] = []
        found: list[str] = []
        unknown: list[str] = []  # a CMD probe in an image without a shell: nothing to look with, nothing to blame
        probes: dict[str, tuple[str, list[str]]] = {}
        for service in ctx.compose.services:
            image = service_image(ctx, service)
            test = health_test(ctx.compose.service(service), image)
            if not test and service in required:
                problems.append(f"`{service}` has no healthcheck, so nothing tells when it is ready")
            if not test:
                continue
            programs = probe_programs(test)
            if not programs or set(programs) <= CHECKS_NOTHING:
                problems.append(f"`{service}`'s healthcheck ({shlex.join(test[1:])}) checks nothing about the service")
                continue
            try:
                missing = missing_programs(ctx, image, programs)
            except CannotLook as exc:
                if test[0] == "CMD-SHELL":  # no shell to look with is no shell to probe with either
                    problems.append(f"`{service}`'s healthcheck needs /bin/sh, and the grader could not use it: {exc}")
                else:
                    unknown.append(f"{service} ({exc})")
                continue
            for program in missing:
                said = (f"exec: \"{program}\": executable file not found in $PATH" if test[0] == "CMD"
                        else f"/bin/sh: 1: {program}: not found")
                problems.append(f"`{service}`'s healthcheck runs `{program}`, which its image does not have "
                                f"(`command -v {program}` finds nothing), so every probe fails with `{said}`")
            if not missing:
                probes[service] = (image, test)
                found.append(f"{service} {', '.join(programs)}")
        # Programs it has, but a probe that passes where the service never started (`|| true`) judges nothing.
        for service, verdict in health_probe.checking_nothing(probes, run_labels(ctx.run_id, ctx.spec.id),
                                                              ctx.spec.limits).items():
            problems.append(f"`{service}`'s healthcheck ({verdict.command}) checks nothing about the service: it exited "
                            "0 in an idle copy of the image where the service never started")
        if problems:
            return Outcome.failed("; ".join(problems) + ".",
                                  "Probe with a program the image has: in a python image, python -c \"import "
                                  "urllib.request; urllib.request.urlopen('http://127.0.0.1:PORT/health', timeout=2)\"; in "
                                  "postgres, pg_isready. Installing curl in the Dockerfile also works, at the cost of size.")
        could_not = f" The grader could not look inside {'; '.join(unknown)}." if unknown else ""
        looked = "; ".join(found) or "none could be looked at"
        return Outcome.passed(f"Every healthcheck runs a program its image has ({looked}).{could_not}")

    return Check(name, "Healthchecks run programs the image has", points, Category.HEALTH, (Need.COMPOSE_FILE, Need.STACK_IMAGES), run,
                 tags=("healthcheck",))


# --- start order (runtime, also on a stack that did not come up) ------------------------------------------

def _container(stack: Stack, service: str) -> dict[str, Any] | None:
    try:
        return stack.container(service)
    except ContainerFailed:
        return None


def _line(text: str, pattern: re.Pattern[str]) -> str:
    """The last line of some output that matches, shortened."""
    lines = [line.strip() for line in text.splitlines() if pattern.search(line)]
    return lines[-1][:240] if lines else ""


@dataclass(frozen=True)
class Crash:
    """What the engine saw of a service that died: how, and the connection error in its log ('' for none)."""

    how: str
    connection_error: str

    def __str__(self) -> str:
        return self.how + (f"; its log says {self.connection_error!r}" if self.connection_error else "") + "."


def crashed(stack: Stack, service: str) -> Crash | None:
    """How the service's container died (restarted, or exited non-zero), or None when it never did."""
    container = _container(stack, service)
    if container is None:
        return None
    state = container.get("State") or {}
    restarts = int(container.get("RestartCount") or 0)
    if restarts:
        how = f"`{service}` crashed and was restarted {restarts} time{'s' if restarts > 1 else ''}"
    elif not state.get("Running") and state.get("ExitCode"):
        how = f"`{service}` exited with code {state.get('ExitCode')}"
    else:
        return None
    return Crash(how, _line(stack.logs(service, 80), CONNECTION_ERROR))


def waits_for_database(points: float, service: str, db: str, name: str = "waits_for_database") -> Check:
    """`service` starts only once `db` accepts connections. In the file: the database has a healthcheck, and
    the service depends on it with `condition: service_healthy` (plain depends_on waits for the container,
    seconds before PostgreSQL listens). In behaviour: the service did not die of a connection error, which
    also catches a healthcheck that passes too early. Restarts and the error in its log are quoted."""

    def run(ctx: GradingContext) -> Outcome:
        compose, stack = ctx.require_stack()
        problems: list[str] = []
        test = health_test(compose.service(db), service_image(ctx, db))
        if not test:
            problems.append(f"`{db}` has no healthcheck, so nothing tells Compose when PostgreSQL accepts connections")
        condition = ((compose.service(service).get("depends_on") or {}).get(db) or {}).get("condition")
        if condition != "service_healthy":
            said = {None: "no depends_on entry", "service_started": "a plain depends_on (`condition: service_started`)"}.get(
                condition, f"`condition: {condition}`")
            problems.append(f"`{service}` waits for `{db}` with {said}, which starts it as soon as the `{db}` "
                            "container runs, before PostgreSQL listens")
        crash = crashed(stack, service)
        if problems:
            return Outcome.failed("; ".join(problems) + "." + (f" {crash}" if crash else ""),
                                  f"Give `{db}` a healthcheck (test: [\"CMD-SHELL\", \"pg_isready -h 127.0.0.1 -U "
                                  f"$${{POSTGRES_USER}} -d $${{POSTGRES_DB}}\"]) and write depends_on: {{{db}: {{condition: "
                                  f"service_healthy}}}} in `{service}`. A restart policy does not fix this: "
                                  f"`{service}` still crashes, until the database happens to be ready.")
        probe = shlex.join(test[1:]) if test[0] == "CMD" else " ".join(test[1:])
        if crash and crash.connection_error:
            return Outcome.failed(f"`{service}` waits for a healthy `{db}`, yet it could not connect: {crash} So `{db}`'s "
                                  f"healthcheck ({probe}) passed before PostgreSQL accepted connections over the network.",
                                  "Ask the way the service connects, over TCP: pg_isready -h 127.0.0.1. Without -h, "
                                  "pg_isready asks the unix socket, where the image's set-up server answers during the "
                                  "first start, before the real server listens.")
        after = f" Note: {crash}" if crash else f" `{service}` started once and never crashed."
        return Outcome.passed(f"`{service}` starts once `{db}` is healthy (condition: service_healthy; `{db}` probes with "
                              f"{probe}).{after}")

    return Check(name, "Waits for the database to be ready", points, Category.COMPOSE, (Need.STACK,), run,
                 reports="start", tags=("depends_on",))


# --- a volume the service's user can write (runtime, also on a stack that did not come up) --------------

def process_uid(stack: Stack, service: str) -> int | None:
    """The effective uid of the service's app process (the one files are written as), read in /proc inside the container."""
    uid = stack.proc_status(service).get("Uid", "").split()
    return int(uid[1]) if len(uid) > 1 else None


def _owner(stack: Stack, service: str, path: str) -> str | None:
    code, out = stack.exec(service, ["stat", "-c", "%u", path])
    return out.strip() if code == 0 and out.strip().isdigit() else None


def output_written(points: float, service: str, path: str, wait_s: float = 10.0, name: str = "output_written") -> Check:
    """The service, running as its own non-root user, wrote `path` into a volume mounted at its folder, and
    the file belongs to that user. Running it as root would also write the file: it hides the fault."""
    folder = posixpath.dirname(path)

    def fix(user: str) -> str:
        return (f"In the Dockerfile, before USER, create the folder and give it to the service's user: RUN mkdir -p "
                f"{folder} && chown {user} {folder}. A new named volume takes its owner from the image's folder; an "
                "existing one keeps its own, so remove it (`docker compose down -v`) and start again.")

    def run(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        container = _container(stack, service)
        if container is None:
            return Outcome.failed(f"`{service}` was never started, so nothing could be written.",
                                  "Read `docker compose up`'s output: another service stopped the start.")
        mounts = [m for m in container.get("Mounts") or [] if m.get("Destination") == folder]
        if not mounts:
            return Outcome.failed(f"Nothing is mounted at {folder} in `{service}`: what it writes there is lost with "
                                  "the container.", f"Mount a named volume there (volumes: [NAME:{folder}]) and declare "
                                  "it under the top-level `volumes:`.")
        state = container.get("State") or {}
        if state.get("Status") == "created":
            return Outcome.failed(f"`{service}` was created but never started: it waits for a service that did not get "
                                  "ready.", "Read `docker compose up`'s output: another service stopped the start.")
        if not state.get("Running"):
            return Outcome.failed(f"`{service}` is not running ({state.get('Status')}, exit code {state.get('ExitCode')}); "
                                  f"its output ends: {gist(stack.logs(service, 30))!r}.", "Read `docker compose logs "
                                  f"{service}`.")
        uid = process_uid(stack, service)
        if uid is None:
            return Outcome.failed(f"The grader could not read which user `{service}` runs as.",
                                  "Keep `cat` in the image, as slim images have.")
        if uid == 0:
            return Outcome.failed(f"`{service}` runs as root (uid 0): root can write anywhere, which hides the fault "
                                  "instead of fixing it.", "Keep the image's USER (no `user: root`). " + fix("USER"))
        mount = mounts[0]
        bind = mount.get("Type") == "bind"
        where = "a bind mount" if bind else f"the volume `{str(mount.get('Name')).removeprefix(stack.project + '_')}`"
        origin = ", whose owner comes from the host: here, the grader's copy of your folder" if bind else ""
        deadline = time.monotonic() + wait_s
        writable = stack.exec(service, ["test", "-w", folder])[0] == 0
        owner = _owner(stack, service, path)
        while owner is None and writable and time.monotonic() < deadline:
            time.sleep(0.5)
            owner = _owner(stack, service, path)
        if owner is None:
            code, listing = stack.exec(service, ["stat", "-c", "%u %A", folder])
            owner_uid, _, mode = listing.strip().partition(" ") if code == 0 else ("?", "", "?")
            said = _line(stack.logs(service, 40), re.compile(r"denied|error", re.I))
            because = (f"{folder} ({where}{origin}) belongs to uid {owner_uid} (mode {mode}), so uid {uid} may not write there"
                       if not writable else f"{folder} is writable, but the file did not appear within {wait_s:.0f} s")
            return Outcome.failed(f"`{service}` runs as uid {uid} and has not written {path}: {because}."
                                  + (f" Its log says {said!r}." if said else ""),
                                  ("Mount a named volume instead of a folder of your machine. " if bind else "")
                                  + fix(str(uid)))
        if int(owner) != uid:
            return Outcome.failed(f"{path} belongs to uid {owner}, not to uid {uid} that `{service}` runs as.",
                                  fix(str(uid)))
        return Outcome.passed(f"`{service}` runs as uid {uid} and wrote {path} into {where}, owned by uid {uid}.")

    return Check(name, "The service writes its output as its own user", points, Category.USER, (Need.STACK,), run,
                 reports="start", tags=("volume", "permissions"))


# --- the repaired stack works (runtime, also on a stack that did not come up) ---------------------------

def prediction_stored(points: float, service: str, port: int, db: str, table: str = "predictions",
                      name: str = "prediction_stored") -> Check:
    """End to end: a prediction asked of the API over HTTP is a row in PostgreSQL. Catches a "repair" that
    keeps the stack up by cutting the service off its database."""

    def run(ctx: GradingContext) -> Outcome:
        _, stack = ctx.require_stack()
        container = _container(stack, service)
        state = (container or {}).get("State") or {}
        if not state.get("Running"):
            said = ("never started" if not container or state.get("Status") == "created"
                    else f"{state.get('Status')}, exit code {state.get('ExitCode')}")
            return Outcome.failed(f"`{service}` is not running ({said}), so it cannot answer POST /predict.",
                                  f"Read `docker compose logs {service}`: it says why it stopped.")
        features = [int(ctx.run_id[:4], 16) % 72 + 1, 2, 49.5, 1]  # a tenure no other run is likely to send
        try:
            response = request_service(ctx, service, port, "POST", "/predict", {"features": features}, timeout_s=15)
            body = response.json() if response.status_code == 200 else {}
        except (requests.RequestException, ValueError, ContainerFailed) as exc:
            return Outcome.failed(f"`{service}` did not answer POST /predict on port {port}: {gist(str(exc))}",
                                  f"Read `docker compose logs {service}`.")
        if "id" not in body:
            return Outcome.failed(f"POST /predict answered {response.status_code}: {response.text[:200]!r}",
                                  f"Read `docker compose logs {service}`: the API stores each prediction in PostgreSQL.")
        code, out = stack.exec(db, psql(f"select probability from {table} where id = {int(body['id'])}"))
        if code != 0 or not out.strip():
            return Outcome.failed(f"The API answered {body}, but PostgreSQL has no such row in `{table}`: "
                                  f"{out.strip()[-200:]}", f"Check that `{service}` reaches `{db}` with the settings in .env.")
        return Outcome.passed(f"POST /predict answered probability {body.get('probability')}, and the row is in "
                              f"PostgreSQL (table {table}, id {body['id']}).")

    return Check(name, "A prediction is stored in PostgreSQL", points, Category.ENDPOINT, (Need.STACK,), run,
                 reports="start", tags=("postgres",))
