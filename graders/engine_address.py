"""Which Docker Engine the grader talks to, decided once: `--engine` (or MASTERY_ENGINE), else DOCKER_HOST,
else the Docker CLI's current context, else the local socket. Every way the grader reaches the engine (the
SDK client, the docker and docker compose commands it runs, testcontainers, the address of published ports)
takes it from here, so a run never talks to two engines, and a remote one is known to be remote."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_URL = "unix:///var/run/docker.sock"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class EngineAddress:
    url: str  # unix:///path, tcp://host:port or ssh://user@host
    source: str  # how it was chosen, said by `mastery doctor`: "--engine", "DOCKER_HOST", "context NAME", "default"
    tls_verify: bool = False
    cert_path: str | None = None

    @property
    def local(self) -> bool:
        """Whether the engine sees this machine's files: a socket here, or TCP to this machine's loopback.
        Only then can a run bind-mount a folder of the grader's (a notebook folder, a stack's staged copy)."""
        parsed = urlparse(self.url)
        return parsed.scheme in ("unix", "npipe") or (parsed.scheme == "tcp" and (parsed.hostname or "") in LOOPBACK)

    @property
    def published_host(self) -> str:
        """Where a port the engine publishes can be reached from the grader."""
        parsed = urlparse(self.url)
        return (parsed.hostname or "127.0.0.1") if parsed.scheme in ("tcp", "ssh") else "127.0.0.1"

    @property
    def publish_on(self) -> str:
        """The host address the grader's front binds: loopback for an engine on this machine, so nothing of a
        learner's is offered to the network; every address of a remote engine's host, the only way to reach it."""
        return "127.0.0.1" if self.local else "0.0.0.0"

    def env(self) -> dict[str, str]:
        """The variables that point a docker or docker compose command at this engine, and at no other."""
        env = {"DOCKER_HOST": self.url}
        if self.tls_verify:
            env["DOCKER_TLS_VERIFY"] = "1"
        if self.cert_path:
            env["DOCKER_CERT_PATH"] = self.cert_path
        return env


def resolve(explicit: str | None = None, environ: dict[str, str] | None = None) -> EngineAddress:
    """The engine by the Docker CLI's own order of precedence, with the grader's explicit choice first."""
    environ = dict(os.environ) if environ is None else environ
    tls = environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    certs = environ.get("DOCKER_CERT_PATH") or None
    if explicit or environ.get("MASTERY_ENGINE"):
        return EngineAddress(explicit or environ["MASTERY_ENGINE"], "--engine", tls, certs)
    if environ.get("DOCKER_HOST"):
        return EngineAddress(environ["DOCKER_HOST"], "DOCKER_HOST", tls, certs)
    found = _context_endpoint(environ)
    if found is not None:
        return found
    return EngineAddress(DEFAULT_URL, "default")


def _context_endpoint(environ: dict[str, str]) -> EngineAddress | None:
    """The Docker endpoint of the CLI's current context (DOCKER_CONTEXT, else config.json's currentContext),
    read from the context store the CLI keeps; None for the default context or one that cannot be read."""
    config_dir = Path(environ.get("DOCKER_CONFIG") or Path(environ.get("HOME", "~")).expanduser() / ".docker")
    name = environ.get("DOCKER_CONTEXT")
    if not name:
        try:
            name = json.loads((config_dir / "config.json").read_text()).get("currentContext")
        except (OSError, ValueError):
            return None
    if not name or name == "default":
        return None
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        endpoint = json.loads(meta.read_text())["Endpoints"]["docker"]
    except (OSError, ValueError, KeyError):
        return None
    host = endpoint.get("Host")
    if not host:
        return None
    tls_dir = config_dir / "contexts" / "tls" / hashlib.sha256(name.encode()).hexdigest() / "docker"
    return EngineAddress(host, f"context {name}", tls_verify=not endpoint.get("SkipTLSVerify", True) and tls_dir.is_dir(),
                         cert_path=str(tls_dir) if tls_dir.is_dir() else None)
