"""Which Docker Engine the grader talks to, decided once: `--engine` (or MASTERY_ENGINE: a URL, a context
name, `course` or `host`), else DOCKER_HOST, else DOCKER_CONTEXT, else the course engine where it is set up
(graders/course_engine), else the Docker CLI's current context, else the local socket. Every way the grader reaches the engine (the
SDK client, the docker and docker compose commands it runs, testcontainers, the address of published ports)
takes it from here, so a run never talks to two engines, and a remote one is known to be remote."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from graders.course_engine import places
from graders.errors import UsageError

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


HOST = "host"  # MASTERY_ENGINE=host: the engine the Docker CLI would use, never the course engine
COURSE = "course"  # MASTERY_ENGINE=course: the course engine, set up or not (grading then says how to start it)


def resolve(explicit: str | None = None, environ: dict[str, str] | None = None) -> EngineAddress:
    """The engine by the Docker CLI's own order of precedence, with the grader's explicit choice first and the
    course engine ahead of the CLI's current context: the course is graded on the engine its lessons describe
    unless the learner asks for another."""
    environ = dict(os.environ) if environ is None else environ
    tls = environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    certs = environ.get("DOCKER_CERT_PATH") or None
    choice = explicit or environ.get("MASTERY_ENGINE") or ""
    course_context = places.context(environ)
    if choice == COURSE:
        return (_context_endpoint(environ, course_context)
                or EngineAddress(places.url(environ), f"context {course_context}"))
    if choice and choice != HOST:
        if "://" in choice:
            return EngineAddress(choice, "--engine", tls, certs)
        named = _context_endpoint(environ, choice)
        if named is None:
            raise UsageError(f"`{choice}` is neither an engine URL (unix://, tcp://, ssh://) nor a Docker context here.",
                             "Give a URL, a context `docker context ls` lists, `course` (the course engine) or `host`.")
        return named
    if environ.get("DOCKER_HOST") and not (choice == HOST and environ["DOCKER_HOST"] == places.url(environ)):
        return EngineAddress(environ["DOCKER_HOST"], "DOCKER_HOST", tls, certs)
    if environ.get("DOCKER_CONTEXT") and not (choice == HOST and environ["DOCKER_CONTEXT"] == course_context):
        return _context_endpoint(environ, environ["DOCKER_CONTEXT"]) or EngineAddress(DEFAULT_URL, "default")
    if choice != HOST and (course := _context_endpoint(environ, course_context)) is not None:
        return course
    current = _current_context(environ)
    found = _context_endpoint(environ, current) if current and not (choice == HOST and current == course_context) else None
    return found or EngineAddress(DEFAULT_URL, "default")


def _config_dir(environ: dict[str, str]) -> Path:
    return Path(environ.get("DOCKER_CONFIG") or Path(environ.get("HOME", "~")).expanduser() / ".docker")


def _current_context(environ: dict[str, str]) -> str | None:
    """config.json's currentContext, as `docker context use` leaves it."""
    try:
        current = json.loads((_config_dir(environ) / "config.json").read_text()).get("currentContext")
    except (OSError, ValueError):
        return None
    return current if isinstance(current, str) else None


def _context_endpoint(environ: dict[str, str], name: str | None) -> EngineAddress | None:
    """The Docker endpoint of the named context, read from the context store the CLI keeps; None for the
    default context or one that cannot be read."""
    config_dir = _config_dir(environ)
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
