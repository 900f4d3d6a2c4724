"""A spare course engine beside the learner's: its own container, volume, socket, state folder, and a Docker
config folder of its own (so its context and CLI plugins never touch the learner's). Tests that need an engine
to themselves and the cohort benchmark's second engine start one; at the end everything it made is removed."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from graders.course_engine import control, places
from graders.engine_address import HOST, EngineAddress, resolve


@dataclass(frozen=True)
class SpareEngine:
    name: str  # its container on the host's engine, and its Docker context in `env`'s DOCKER_CONFIG
    env: dict[str, str]  # what names it: `mastery engine …` and `docker --context NAME` given these reach it
    address: EngineAddress  # its socket, for `engine.using` and `mastery grade --engine`


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` for the block: the engine's control reads its names from there."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _docker_config(root: Path, plugins_named: Iterable[str] | None) -> Path:
    """A config folder with the host's CLI plugins linked in (all, or those named): the same CLI, its own
    contexts. Without the host's buildx, the engine's start installs its own there."""
    config = root / "docker-config"
    plugins = config / "cli-plugins"
    plugins.mkdir(parents=True)
    host_plugins = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "cli-plugins"
    for plugin in host_plugins.glob("docker-*") if host_plugins.is_dir() else ():
        if plugin.is_file() and os.access(plugin, os.X_OK) and (plugins_named is None or plugin.name in plugins_named):
            (plugins / plugin.name).symlink_to(plugin.resolve())
    return config


@contextlib.contextmanager
def spare_engine(name: str, seed: Iterable[str] = (), settings: Mapping[str, str] | None = None,
                 plugins: Iterable[str] | None = None) -> Iterator[SpareEngine]:
    """Start the engine `name` (seeded with the `seed` base images from the host's engine; `settings`: more
    MASTERY_ENGINE_* variables, such as its build limits; `plugins`: the host's CLI plugins it gets, by file
    name, else all), and remove its container, volume and folders after."""
    root = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    env = {"MASTERY_ENGINE_NAME": name, "MASTERY_STATE_DIR": str(root / "state"),
           "DOCKER_CONFIG": str(_docker_config(root, None if plugins is None else set(plugins))), **(settings or {})}
    # DOCKER_HOST at the host's engine: a run pinned to the learner's course engine would otherwise take that for
    # the host, and start this one inside it.
    named = {**env, **resolve(HOST).env()}
    try:
        with _environ(named):
            control.start(lambda _: None, seed=seed)
            address = EngineAddress(places.url(), f"spare engine {name}")
        yield SpareEngine(name, named, address)
    finally:
        with _environ(named):
            host = docker.from_env(environment=resolve(HOST).env())
            with contextlib.suppress(docker.errors.NotFound):
                host.containers.get(name).remove(force=True)
            with contextlib.suppress(docker.errors.NotFound):
                host.volumes.get(places.volume()).remove(force=True)
        shutil.rmtree(root, ignore_errors=True)
