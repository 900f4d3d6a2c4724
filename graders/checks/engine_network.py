"""Engine-state checks of networks: the learner made networks and containers with `docker network` and `docker run`;
each check inspects them by name (read-only, graders/learner_objects.py) and, where only traffic can tell, probes.

A probe is the grader's own short-lived container (the lab's Python image, `python -c` with a socket and short
timeouts), attached to the learner's network, carrying the run's labels and small limits, removed however the
check ends: the learner's containers are never entered or changed. What it reports is what a container on that
network sees: whether a name resolves (the engine's embedded DNS), and whether a TCP connect succeeds."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import docker.errors

from graders import engine
from graders.check_model import Check, Need, Outcome
from graders.context import GradingContext
from graders.deadline import DeadlineExceeded, call_with_deadline
from graders.labels import run_labels
from graders.learner_objects import LearnerObjects
from graders.results import Category

NEEDS = (Need.ENGINE_STATE,)
CONNECT_TIMEOUT_S = 3.0  # per TCP connect inside a probe
PROBE_TIMEOUT_S = 30.0  # a whole probe: create, start, its connects, its output
PROBE_MEMORY = 64 * 1024 * 1024
PROBE_PIDS = 16
# An address off every engine: a public DNS service's HTTPS port. From an internal network no connect to it may
# succeed; from an ordinary bridge (the control) it must, or the host is offline and the probe proves nothing.
OUTSIDE = ("1.1.1.1", 443)
DEFAULT_BRIDGE = "bridge"

# Each target: [name or address, port]. Prints one JSON line per target: the addresses the name resolved to
# (empty when it did not) and the connect's result ("ok", or the error).
PROBE_SCRIPT = """
import json, socket, sys
for host, port in json.loads(sys.argv[1]):
    try:
        addrs = sorted({a[4][0] for a in socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)})
    except OSError as exc:
        print(json.dumps({"host": host, "addrs": [], "connect": "the name did not resolve: " + str(exc)}), flush=True)
        continue
    try:
        socket.create_connection((addrs[0], port), TIMEOUT).close()
        result = "ok"
    except OSError as exc:
        result = type(exc).__name__ + ": " + str(exc.strerror or exc)
    print(json.dumps({"host": host, "addrs": addrs, "connect": result}), flush=True)
""".replace("TIMEOUT", str(CONNECT_TIMEOUT_S))


@dataclass(frozen=True)
class Seen:
    """What a probe saw of one target."""

    host: str
    port: int
    addrs: tuple[str, ...]  # what the name resolved to; empty when it did not
    connect: str  # "ok", or why the connect failed

    @property
    def resolved(self) -> bool:
        return bool(self.addrs)

    @property
    def connected(self) -> bool:
        return self.connect == "ok"


class ProbeFailed(Exception):
    """The probe itself could not run: the grader's problem, reported as an error."""


def probe(ctx: GradingContext, image: str, networks: list[str], targets: list[tuple[str, int]]) -> list[Seen]:
    """What a fresh container attached to `networks` sees of each target (a name or an address, and a port)."""
    api = engine.client().api
    labels = run_labels(ctx.run_id, ctx.spec.id)
    first, *others = networks

    def run() -> str:
        container = api.create_container(
            image, ["python", "-c", PROBE_SCRIPT, json.dumps(targets)], labels=labels,
            host_config=api.create_host_config(network_mode=first, mem_limit=PROBE_MEMORY, memswap_limit=PROBE_MEMORY,
                                               pids_limit=PROBE_PIDS, security_opt=["no-new-privileges"]))
        try:
            for network in others:
                api.connect_container_to_network(container["Id"], network)
            api.start(container["Id"])
            api.wait(container["Id"], timeout=PROBE_TIMEOUT_S)
            out: bytes = api.logs(container["Id"], stdout=True, stderr=True)
            return out.decode("utf-8", "replace")
        finally:
            with contextlib.suppress(docker.errors.APIError):
                api.remove_container(container["Id"], force=True, v=True)

    try:
        output = call_with_deadline(run, PROBE_TIMEOUT_S + 10)
    except (DeadlineExceeded, docker.errors.APIError, OSError) as exc:
        raise ProbeFailed(f"The grader's probe on {', '.join(networks)} could not run: {exc}") from exc
    seen = []
    for line in output.splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            row = json.loads(line)
            seen.append(Seen(row["host"], 0, tuple(row["addrs"]), str(row["connect"])))
    if len(seen) != len(targets):
        raise ProbeFailed(f"The grader's probe on {', '.join(networks)} printed {output.strip()[-300:]!r}")
    return [Seen(s.host, port, s.addrs, s.connect) for s, (_, port) in zip(seen, targets, strict=True)]


@dataclass(frozen=True)
class Box:
    """A container the task asks for, as the task words it."""

    name: str
    image: str
    label: str  # key=value
    command: str  # what makes it, quoted in hints

    @property
    def label_key(self) -> str:
        return self.label.partition("=")[0]


@dataclass(frozen=True)
class Net:
    """A network the task asks for."""

    name: str
    label: str
    command: str
    internal: bool = False


def _view(ctx: GradingContext) -> LearnerObjects:
    assert ctx.learner is not None, "engine-state checks run only once the kind opened its view"
    return ctx.learner


def _image_name(reference: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if reference.startswith(prefix):
            return reference[len(prefix):]
    return reference


def running(ctx: GradingContext, box: Box) -> dict[str, Any] | Outcome:
    """The container when it exists from the image and with the label asked for, and runs; else what to tell."""
    view = _view(ctx)
    attrs = view.container(box.name)
    if attrs is None:
        return Outcome.failed(f"No container named `{box.name}` in the Docker Engine at {engine.address().url}.",
                              f"Make it: `{box.command}`.")
    config = attrs.get("Config") or {}
    found = []
    expected_id = view.image_id(box.image)
    if not (attrs.get("Image") == expected_id if expected_id else _image_name(str(config.get("Image"))) == box.image):
        found.append(f"it runs the image `{_image_name(str(config.get('Image', '')))}`, not `{box.image}`")
    key, _, value = box.label.partition("=")
    if (config.get("Labels") or {}).get(key) != value:
        found.append(f"it does not carry the label `{box.label}`")
    if found:
        return Outcome.failed(f"`{box.name}` exists, but " + "; ".join(found) + ".",
                              f"Remove it (`docker rm -f {box.name}`) and make it again: `{box.command}`.")
    status = (attrs.get("State") or {}).get("Status", "")
    if status != "running":
        return Outcome.failed(f"`{box.name}` is not running (it is {status or 'stopped'}).",
                              f"Start it (`docker start {box.name}`), or remove it and run `{box.command}`.")
    return attrs


def networks_of(attrs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The networks a container is attached to, by name, with its endpoint on each (aliases, address)."""
    return dict((attrs.get("NetworkSettings") or {}).get("Networks") or {})


def _listed(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "no network"


def network_as_asked(ctx: GradingContext, net: Net) -> dict[str, Any] | Outcome:
    """The network when it exists as a labelled bridge (internal or not, as asked); else what to tell."""
    attrs = _view(ctx).network(net.name)
    if attrs is None:
        return Outcome.failed(f"No network named `{net.name}` in the Docker Engine at {engine.address().url}.",
                              f"Make it: `{net.command}`.")
    found = []
    if attrs.get("Driver") != "bridge":
        found.append(f"its driver is `{attrs.get('Driver')}`, not `bridge`")
    key, _, value = net.label.partition("=")
    if (attrs.get("Labels") or {}).get(key) != value:
        found.append(f"it does not carry the label `{net.label}`")
    if bool(attrs.get("Internal")) != net.internal:
        found.append("it is not internal (`docker network inspect` shows `\"Internal\": false`): its containers reach "
                     "the outside" if net.internal else "it is internal: its containers cannot reach the outside")
    if found:
        return Outcome.failed(f"The network `{net.name}` exists, but " + "; ".join(found) + ".",
                              "A network's driver, labels and `--internal` are fixed when it is made: remove it (first "
                              f"`docker rm -f` the containers on it, then `docker network rm {net.name}`) and make it "
                              f"again: `{net.command}`.")
    return attrs


def network_made(points: float, net: Net, name: str = "app_network") -> Check:
    """The network exists, is a user-defined bridge (not the default `bridge`) and carries the task's label."""

    def run(ctx: GradingContext) -> Outcome:
        attrs = network_as_asked(ctx, net)
        if isinstance(attrs, Outcome):
            return attrs
        subnet = ((attrs.get("IPAM") or {}).get("Config") or [{}])[0].get("Subnet", "?")
        return Outcome.passed(f"`{net.name}` is a user-defined bridge network ({subnet}) labelled `{net.label}`.")

    return Check(name, f"{net.name} is a labelled user-defined bridge", points, Category.STATE, NEEDS, run,
                 tags=("network",))


def _on_network(attrs: dict[str, Any], box: Box, net: Net) -> Outcome | None:
    joined = networks_of(attrs)
    if net.name in joined:
        return None
    default = (" The default `bridge` network has no DNS for container names: only a user-defined network's "
               "containers find each other by name." if DEFAULT_BRIDGE in joined else "")
    return Outcome.failed(f"`{box.name}` is attached to {_listed(list(joined))}, not to `{net.name}`.{default}",
                          f"Attach it: `docker network connect {net.name} {box.name}` (or make it again with "
                          f"`--network {net.name}`: `{box.command}`).")


def reaches_by_name(points: float, client: Box, server: Box, net: Net, port: int, name_used: str,
                    name: str = "db_by_name") -> Check:
    """From `net` (the client's network), `name_used` resolves to the server's address there and a TCP connect to
    it on `port` succeeds: what the client's own code would do. `name_used` is the server's name or an alias."""
    by_alias = name_used != server.name

    def run(ctx: GradingContext) -> Outcome:
        found: dict[str, dict[str, Any]] = {}
        for box in (client, server):
            attrs = running(ctx, box)
            if isinstance(attrs, Outcome):
                return attrs
            off = _on_network(attrs, box, net)
            if off is not None:
                return off
            found[box.name] = attrs
        endpoint = networks_of(found[server.name])[net.name]
        aliases = [a for a in endpoint.get("Aliases") or [] if a != server.name and not server.name.startswith(a)]
        try:
            seen, = probe(ctx, server.image, [net.name], [(name_used, port)])
        except ProbeFailed as exc:
            return Outcome.error(str(exc))
        address = endpoint.get("IPAddress", "")
        fix = (f"Give `{server.name}` the alias on `{net.name}`: `docker network disconnect {net.name} {server.name}`, "
               f"then `docker network connect --alias {name_used} {net.name} {server.name}` (or `--network-alias "
               f"{name_used}` on `docker run`)." if by_alias else
               f"A container on `{net.name}` finds `{server.name}` by its name only when both are on that network and "
               f"the name is its `--name`: `{server.command}`.")
        if not seen.resolved:
            held = f" (its aliases there: {_listed(aliases)})" if by_alias else ""
            return Outcome.failed(f"On `{net.name}`, the name `{name_used}` does not resolve{held}: {seen.connect}.", fix)
        if address and address not in seen.addrs:
            return Outcome.failed(f"On `{net.name}`, `{name_used}` resolves to {', '.join(seen.addrs)}, but `{server.name}` "
                                  f"has the address {address} there: the name belongs to another container.", fix)
        if not seen.connected:
            return Outcome.failed(f"On `{net.name}`, `{name_used}` resolves to {seen.addrs[0]}, but a TCP connect to port "
                                  f"{port} failed ({seen.connect}).",
                                  f"`{server.name}` must listen on 0.0.0.0 port {port}: `docker logs {server.name}` "
                                  f"shows why it does not; make it again with `{server.command}`.")
        how = "the alias" if by_alias else "the name"
        return Outcome.passed(f"From `{net.name}` (where `{client.name}` is), {how} `{name_used}` resolves to "
                              f"{seen.addrs[0]} (`{server.name}`) and port {port} accepts a connection.")

    title = f"{client.name} reaches {server.name} as {name_used} on {net.name}"
    return Check(name, title, points, Category.STATE, NEEDS, run, tags=("network", "dns", "probe"))


def internal_network(points: float, net: Net, image: str, name: str = "internal_network") -> Check:
    """The network is `internal: true`, and a probe on it cannot connect to an address outside the engine, while
    a control probe on the default bridge can (else the host is offline: the probe proves nothing, so skipped)."""

    def run(ctx: GradingContext) -> Outcome:
        attrs = network_as_asked(ctx, net)
        if isinstance(attrs, Outcome):
            return attrs
        try:
            inside, = probe(ctx, image, [net.name], [OUTSIDE])
            if inside.connected:
                return Outcome.failed(f"`{net.name}` says it is internal, but a container on it connected to "
                                      f"{OUTSIDE[0]} port {OUTSIDE[1]}, outside the engine.",
                                      f"Check what else joined it: `docker network inspect {net.name}`; make it again "
                                      f"with `{net.command}`.")
            control, = probe(ctx, image, [DEFAULT_BRIDGE], [OUTSIDE])
        except ProbeFailed as exc:
            return Outcome.error(str(exc))
        if not control.connected:
            return Outcome.skipped(f"`{net.name}` is internal, but this engine reaches nothing outside from its default "
                                   f"bridge either ({OUTSIDE[0]} port {OUTSIDE[1]}: {control.connect}), so a probe "
                                   "cannot show that the network keeps its containers in.")
        return Outcome.passed(f"`{net.name}` is internal: from it, {OUTSIDE[0]} port {OUTSIDE[1]} is out of reach "
                              f"({inside.connect}), while the default bridge reaches it.")

    return Check(name, f"{net.name} is internal and cannot reach outside", points, Category.STATE, NEEDS, run,
                 tags=("network", "internal", "probe"), skip_unless=lambda: None)


LOOPBACK = {"127.0.0.1", "::1"}


def published_on_loopback(points: float, box: Box, container_port: int, host_port: int,
                          name: str = "port_localhost") -> Check:
    """The container publishes `container_port` as `host_port` on 127.0.0.1 only, as `docker run -p` wrote it
    (HostConfig.PortBindings). The course engine publishes on its own address, so the binding is judged as written,
    not by connecting."""
    key = f"{container_port}/tcp"
    wanted = f"-p 127.0.0.1:{host_port}:{container_port}"

    def run(ctx: GradingContext) -> Outcome:
        attrs = running(ctx, box)
        if isinstance(attrs, Outcome):
            return attrs
        bindings = ((attrs.get("HostConfig") or {}).get("PortBindings") or {}).get(key) or []
        if not bindings:
            return Outcome.failed(f"`{box.name}` publishes no host port for its port {container_port}.",
                                  f"Ports are published when a container is made: `docker rm -f {box.name}`, then "
                                  f"`{box.command}` (note `{wanted}`).")
        shown = ", ".join(f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort') or '(any)'}" for b in bindings)
        open_to_all = [b for b in bindings if (b.get("HostIp") or "") not in LOOPBACK]
        if open_to_all:
            return Outcome.failed(f"`{box.name}` publishes its port {container_port} on {shown}: every address of the "
                                  "machine, so anyone on its network can reach it.",
                                  f"Publish on the loopback address only: `docker rm -f {box.name}`, then "
                                  f"`{box.command}` (`{wanted}`; without the address `-p` means 0.0.0.0).")
        if any(b.get("HostPort") != str(host_port) for b in bindings):
            return Outcome.failed(f"`{box.name}` publishes its port {container_port} on {shown}, not on port {host_port}.",
                                  f"`docker rm -f {box.name}`, then `{box.command}` (`{wanted}`).")
        return Outcome.passed(f"`{box.name}` publishes its port {container_port} on {shown} only.")

    return Check(name, f"{box.name} publishes port {container_port} on 127.0.0.1 only", points, Category.STATE, NEEDS,
                 run, tags=("network", "ports"))


def isolated(points: float, first: Box, second: Box, port: int, name: str = "isolated") -> Check:
    """Both containers run, and from the networks of each, the other's name does not resolve and none of the
    other's addresses accepts a connection on `port`; each reaches itself by name there (the probe's control)."""

    def run(ctx: GradingContext) -> Outcome:
        found: dict[str, dict[str, Any]] = {}
        for box in (first, second):
            attrs = running(ctx, box)
            if isinstance(attrs, Outcome):
                return attrs
            found[box.name] = attrs
        for box, other in ((first, second), (second, first)):
            nets = [n for n in networks_of(found[box.name]) if n not in ("host", "none")]
            if not nets:
                joined = _listed(list(networks_of(found[box.name])))
                return Outcome.failed(f"`{box.name}` is on no network a container can join ({joined}).",
                                      f"Make it again on its own network: `{box.command}`.")
            addresses = sorted({str(e.get("IPAddress")) for e in networks_of(found[other.name]).values()
                                if e.get("IPAddress")})
            targets = [(box.name, port), (other.name, port), *((a, port) for a in addresses)]
            try:
                own, by_name, *by_address = probe(ctx, box.image, nets, targets)
            except ProbeFailed as exc:
                return Outcome.error(str(exc))
            if not own.connected:
                return Outcome.error(f"From `{box.name}`'s network(s) {_listed(nets)}, the grader's probe could not "
                                     f"reach `{box.name}` itself on port {port} ({own.connect}), so it cannot tell "
                                     f"whether `{other.name}` is out of reach.",
                                     f"`{box.name}` must serve on port {port}: `docker logs {box.name}`; make it again "
                                     f"with `{box.command}`.")
            reached = [s for s in by_address if s.connected]
            if by_name.resolved or reached:
                shared = sorted(set(networks_of(found[box.name])) & set(networks_of(found[other.name])))
                what = (f"the name `{other.name}` resolves to {', '.join(by_name.addrs)}" if by_name.resolved else
                        f"`{other.name}`'s address {reached[0].host} accepts a connection on port {port}")
                return Outcome.failed(f"From `{box.name}`'s network(s) {_listed(nets)}, {what}"
                                      + (f": both are on {_listed(shared)}." if shared else "."),
                                      f"Give each a network of its own and no other: `docker rm -f {first.name} "
                                      f"{second.name}`, then `{first.command}` and `{second.command}`.")
        return Outcome.passed(f"`{first.name}` and `{second.name}` both run, and neither resolves or reaches the other on "
                              f"port {port}.")

    return Check(name, f"{first.name} and {second.name} cannot see each other", points, Category.STATE, NEEDS, run,
                 tags=("network", "isolation", "probe"))
