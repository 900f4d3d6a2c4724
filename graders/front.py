"""The front door of a graded run: the one container that publishes ports, and it is the grader's.

A learner's container that publishes a port needs a bridge with an address, and through that address it
reaches every service of the host (graders/netpolicy.py). So no learner container publishes anything: each
stays on contained networks only, and this front container, which joins those networks and one publishing
network, listens on a port per forward and passes connections on (graders/front_forwarder.py). It runs the
grader's own program in a stock Python image the course prepares, never the learner's image, as nobody, with
no capability, a read-only root and small limits; it carries the run's labels, so the sweep removes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container

from graders import engine
from graders.errors import ContainerFailed

FRONT = "mastery-front"  # the front's service name in a stack; no learner service may be named so
FIRST_PORT = 20000  # the front's own ports, one per forward, above the well-known and registered ranges
# The stock images the course prepares (graders/images.py); the first one present runs the front.
IMAGES = ("python:3.13-slim", "python:3.11-slim", "python:3.12-slim", "python:3.13.5-slim")
SOURCE = (Path(__file__).with_name("front_forwarder.py")).read_text()
MEMORY_BYTES = 64 * 2**20
LIMITS: dict[str, Any] = {"mem_limit": MEMORY_BYTES, "memswap_limit": MEMORY_BYTES, "pids_limit": 32,
                          "nano_cpus": 500_000_000}


@dataclass(frozen=True)
class Forward:
    """One published port: the front listens on `listen` and passes connections to `host`:`target`."""

    host: str  # a service's name in a stack, a container's address for a Dockerfile lab
    target: int
    listen: int

    @property
    def argument(self) -> str:
        return f"{self.listen}={self.host}:{self.target}"

    @classmethod
    def parse(cls, argument: str) -> Forward:
        listen, _, target = argument.partition("=")
        host, _, port = target.rpartition(":")
        return cls(host, int(port), int(listen))


def command(forwards: Sequence[Forward]) -> list[str]:
    return ["python", "-c", SOURCE, *(forward.argument for forward in forwards)]


def forwards_of(service: Mapping[str, Any]) -> list[Forward]:
    """The forwards a front service was made with, read back from its command."""
    return [Forward.parse(argument) for argument in list(service.get("command") or [])[3:]]


def image() -> str:
    """The first of the course's Python images this engine has; ContainerFailed when it has none."""
    for name in IMAGES:
        with contextlib.suppress(docker.errors.ImageNotFound):
            engine.client().images.get(name)
            return name
    raise ContainerFailed(f"The grader publishes ports through a small container of its own, which needs one of "
                          f"{', '.join(IMAGES)}, and this engine has none of them.",
                          "Run `mastery doctor` (or `make images`) to prepare the course's images, then check again.")


def stack_forwards(services: Mapping[str, Mapping[str, Any]]) -> list[Forward]:
    """A forward for every TCP port a service of the stack publishes, in a stable order."""
    targets = sorted({(name, int(port["target"])) for name, service in services.items()
                      for port in service.get("ports") or [] if port.get("protocol", "tcp") == "tcp"})
    return [Forward(name, target, FIRST_PORT + index) for index, (name, target) in enumerate(targets)]


def compose_service(forwards: Sequence[Forward], networks: Iterable[str], labels: Mapping[str, str],
                    host_ip: str, image: str) -> dict[str, Any]:
    """The front as a service of the stack, so Compose starts, restarts and removes it with the rest."""
    return {
        "image": image,
        "command": command(forwards),
        "ports": [{"target": f.listen, "published": "", "host_ip": host_ip, "protocol": "tcp", "mode": "ingress"}
                  for f in forwards],
        "networks": {name: None for name in networks},
        "labels": dict(labels),
        "user": "65534:65534",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "environment": {"PYTHONDONTWRITEBYTECODE": "1"},
        "dns": ["127.0.0.1"],
        "mem_limit": MEMORY_BYTES, "memswap_limit": MEMORY_BYTES, "pids_limit": LIMITS["pids_limit"], "cpus": 0.5,
    }


def start_container_front(target_ip: str, port: int, networks: Sequence[str], labels: Mapping[str, str],
                          host_ip: str | None) -> Container:
    """The front of one container (a Dockerfile lab): created on the publishing network `networks[0]`, then
    joined to the container's own. Nothing is left behind when it cannot start."""
    client = engine.client()
    forward = Forward(target_ip, port, FIRST_PORT)
    binding = (host_ip,) if host_ip else None  # an ephemeral host port, on loopback for a local engine
    front: Container | None = None
    try:
        front = client.containers.run(
            image(), command([forward]), detach=True, network=networks[0], labels=dict(labels),
            ports={f"{forward.listen}/tcp": binding}, user="65534:65534", read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], environment={"PYTHONDONTWRITEBYTECODE": "1"}, dns=["127.0.0.1"],
            **LIMITS)
        for network in networks[1:]:
            client.networks.get(network).connect(front)
        front.reload()
        return front
    except docker.errors.APIError as exc:
        if front is not None:
            with contextlib.suppress(docker.errors.APIError):
                front.remove(force=True, v=True)
        raise ContainerFailed(f"The grader's port front could not start: {exc.explanation or exc}",
                              "Run `mastery clean`, then check again; if it persists, run `mastery doctor`.") from exc


def published_port(attrs: Mapping[str, Any], listen: int) -> int | None:
    """The host port the engine gave the front's `listen` port, from its inspect data."""
    for binding in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).get(f"{listen}/tcp") or []:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None
