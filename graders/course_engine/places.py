"""Where the course engine lives on the host: one state folder holding its socket and the one folder it
shares with the host. Nothing here talks to an engine, so choosing the engine (engine_address) can use it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_NAME = "mastery-engine"
CONTEXT = "mastery"  # the Docker CLI context that points at the course engine
IMAGE_REPO = "mastery-course-engine"
ROLE_LABEL = "io.mastery.course-engine"  # on the container, the volume and the image: the engine's own things
SOCKET_IN_ENGINE = "/run/mastery/docker.sock"
# Labels the engine's daemon carries (`docker info`): where the host reaches its published ports, and the one
# folder of the host it can mount, at the same path. The entrypoint sets them at every start.
PUBLISHED_HOST_LABEL = "io.mastery.published-host"
SHARED_FOLDER_LABEL = "io.mastery.shared-folder"


def name(environ: Mapping[str, str] | None = None) -> str:
    """The course engine's container on the host's engine. MASTERY_ENGINE_NAME names another instance (the
    tests start their own, beside the learner's), with its own volume and context."""
    env = os.environ if environ is None else environ
    return env.get("MASTERY_ENGINE_NAME") or DEFAULT_NAME


def volume(environ: Mapping[str, str] | None = None) -> str:
    """Its /var/lib/docker: images, build cache, the learner's volumes."""
    return f"{name(environ)}-data"


def context(environ: Mapping[str, str] | None = None) -> str:
    return CONTEXT if name(environ) == DEFAULT_NAME else name(environ)


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """MASTERY_STATE_DIR, else $XDG_STATE_HOME/mastery/engine, else ~/.local/state/mastery/engine."""
    env = os.environ if environ is None else environ
    if env.get("MASTERY_STATE_DIR"):
        return Path(env["MASTERY_STATE_DIR"])
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return Path(env.get("XDG_STATE_HOME") or home / ".local" / "state") / "mastery" / name(env).removeprefix("mastery-")


def socket_dir(environ: Mapping[str, str] | None = None) -> Path:
    return state_dir(environ) / "run"


def socket_path(environ: Mapping[str, str] | None = None) -> Path:
    return socket_dir(environ) / "docker.sock"


def url(environ: Mapping[str, str] | None = None) -> str:
    return f"unix://{socket_path(environ)}"


def shared_dir() -> Path:
    """The host folder the engine sees at the same path: the grader stages bind-mounted files here."""
    return state_dir() / "shared"
