"""What a graded container or stack can reach at run time: its own services and nothing else.

Measured on Engine 20.10 (the grading host here) and 28.5.2 (a current engine run inside it), with a canary
server on the host's 0.0.0.0, a container on the default bridge, 169.254.169.254 and a PyPI address:

- `internal: true` drops everything routed off the network, but the bridge keeps the gateway address, so a
  container still reaches every service of the host listening on 0.0.0.0 through it (on 20.10 even the host's
  other addresses: the container keeps its default route). Ports cannot be published from it at all.
- `inhibit_ipv4` (20.10 to 27) or `gateway_mode_ipv4: isolated` (28 and later, internal networks only) leave
  the bridge without an address: then nothing but the network's own containers is reachable, and external
  names do not resolve. 20.10 ignores `isolated`; 28.5.2 accepts both options together.
- A published port needs a bridge with an address: the engine's proxy on 127.0.0.1 connects to the container
  through it, and a container on such a bridge reaches the host's own services through that address (no
  engine option closes that without a firewall rule on the host). So no learner container publishes a port:
  the grader's front container (graders/front.py) is the only one on the publishing network, which has no
  masquerading, and forwards each port into the contained networks.
- On 28 the embedded DNS resolves external names from the host's namespace even without masquerading;
  `dns: 127.0.0.1` (asked inside the container's namespace, measured) stops that, and names of the stack
  still resolve.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import docker.errors

from graders import engine, front
from graders.errors import ContainerFailed

INGRESS = "mastery-ingress"  # the network the front publishes ports from; no learner network is named so
# No address on the bridge: the host has no foot in the network. The first for 20.10 to 27, the others for 28+.
CONTAINED_OPTIONS = {
    "com.docker.network.bridge.inhibit_ipv4": "true",
    "com.docker.network.bridge.gateway_mode_ipv4": "isolated",
    "com.docker.network.bridge.gateway_mode_ipv6": "isolated",
}
# A bridge that can publish ports but does not translate addresses: packets for the outside leave unanswerable.
# Inter-container traffic stays on: the embedded DNS answers a service's name with its address here.
PUBLISHING_OPTIONS = {"com.docker.network.bridge.enable_ip_masquerade": "false"}
# The embedded DNS forwards names it does not know to these, inside the container: nothing answers there.
NO_EXTERNAL_DNS = ["127.0.0.1"]
# Keys that reach past the stack: names of the host (host-gateway) and containers of other projects.
OUTWARD_KEYS = ("extra_hosts", "external_links", "dns", "dns_search", "dns_opt")


def network_settings(*, publishes: bool, internet: bool) -> tuple[bool, dict[str, str]]:
    """(internal, driver options) of a network the grader makes: contained unless it must publish ports, and
    then only as open as publishing needs; a lab that needs the internet gets an ordinary bridge."""
    if internet:
        return False, {}
    if publishes:
        return False, dict(PUBLISHING_OPTIONS)
    return True, dict(CONTAINED_OPTIONS)


def contain_stack(model: Mapping[str, Any], labels: Mapping[str, str], *, internet: bool = False,
                  front_image: str | None = None) -> dict[str, Any]:
    """A copy of the effective compose model in which every network is one the grader defined: the learner's
    networks (and Compose's implicit `default`) contained. No learner service publishes a port: the grader's
    front (graders/front.py) joins those networks and the publishing one, and forwards each port the services
    asked for. Nothing a service says can widen that: outward keys are dropped, `network_mode` is kept only
    when it joins another service of the stack (or none), and a service's network entries keep only their
    aliases. `front_image`: the image the front runs; by default the first of the course's this engine has."""
    out = copy.deepcopy(dict(model))
    services: dict[str, dict[str, Any]] = out.get("services") or {}
    networks: dict[str, Any] = dict(out.get("networks") or {})
    for service in services.values():
        for key in OUTWARD_KEYS:
            service.pop(key, None)
        mode = service.get("network_mode")
        if mode is not None and not _stays_inside(str(mode), services):
            del service["network_mode"]
        if "network_mode" in service:
            service.pop("networks", None)  # Compose refuses both together; the mode wins
            continue
        joined = {name: _aliases_only(entry) for name, entry in (service.get("networks") or {"default": None}).items()}
        service["networks"] = joined
        networks.update({name: networks.get(name) for name in joined})
        if not internet:
            service["dns"] = list(NO_EXTERNAL_DNS)
    out["networks"] = {name: _network(definition, labels, internet=internet) for name, definition in networks.items()}
    # A service in another's namespace publishes nothing of its own (the engine refuses it).
    forwards = front.stack_forwards({name: s for name, s in services.items() if "network_mode" not in s})
    for service in services.values():
        service.pop("ports", None)
    if forwards:
        services[front.FRONT] = front.compose_service(forwards, [*out["networks"], INGRESS], labels,
                                                      host_ip=engine.site().publish_on,
                                                      image=front_image or front.image())
        out["networks"][INGRESS] = _network({}, labels, internet=False, publishes=True)
    return out


def _network(definition: Mapping[str, Any] | None, labels: Mapping[str, str], *, internet: bool,
             publishes: bool = False) -> dict[str, Any]:
    """A network built from scratch: the learner's labels and (with internet) their `internal`, nothing else of
    theirs (no external, driver, driver options, addresses or IPv6)."""
    definition = definition or {}
    internal, options = network_settings(publishes=publishes, internet=internet)
    return {"driver": "bridge", "internal": internal or bool(definition.get("internal")), "driver_opts": options,
            "enable_ipv6": False, "labels": {**(definition.get("labels") or {}), **labels}}


def _aliases_only(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    aliases = (entry or {}).get("aliases")
    return {"aliases": list(aliases)} if aliases else None


def _stays_inside(mode: str, services: Mapping[str, Any]) -> bool:
    """`none`, or the namespace of another service of this stack (itself contained)."""
    return mode == "none" or (mode.startswith("service:") and mode.removeprefix("service:") in services)


def create_run_network(run_id: str, lab_id: str, labels: Mapping[str, str], *, publishes: bool, internet: bool) -> str:
    """A network of the run's own: contained for a Dockerfile lab's container (the default bridge would let it
    reach every other container there), or, with `publishes`, the one its front publishes ports from.
    Labelled like everything of the run, so the run's sweep removes it."""
    internal, options = network_settings(publishes=publishes, internet=internet and not publishes)
    name = f"mastery-{lab_id}-{run_id}{'-front' if publishes else ''}".lower()
    try:
        engine.client().networks.create(name, driver="bridge", internal=internal, options=options, labels=dict(labels),
                                        enable_ipv6=False)
    except docker.errors.APIError as exc:
        raise ContainerFailed(f"The grader could not make the container's network: {exc.explanation or exc}",
                              "Run `docker network prune` if the engine has run out of address pools, then try again.") from exc
    return name


def container_dns(*, internet: bool) -> list[str]:
    """The DNS servers a graded container is given: none of its own with internet, else none that answer."""
    return [] if internet else list(NO_EXTERNAL_DNS)
