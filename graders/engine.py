"""The connection to the Docker Engine, and the sweep that removes whatever grading runs left behind."""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import os
import shutil
import tarfile
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
from docker import DockerClient
from docker.models.containers import Container

from graders.course_engine.places import PUBLISHED_HOST_LABEL, SHARED_FOLDER_LABEL
from graders.engine_address import EngineAddress, resolve
from graders.errors import EngineUnavailable

if TYPE_CHECKING:
    from graders.limits import Limits
from graders.labels import OWNER_LABEL, RUN_LABEL, image_reference, is_run_id, run_of_tag

# testcontainers' reaper (Ryuk) needs an image pull; we label what we make and sweep it ourselves.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

log = logging.getLogger("graders")

PING_TIMEOUT_S = 15
API_TIMEOUT_S = 120
ENGINE_HINT = "Start Docker (Docker Desktop, or `sudo bash scripts/bootstrap-engine.sh` on Debian/Ubuntu), then run `mastery doctor`."


# The engine of the process (`mastery --engine`, or the environment's), and the engine of the grading run in
# progress, which may be another: cohort grading runs several in one process, each in its own thread.
_chosen: EngineAddress | None = None
_current: contextvars.ContextVar[EngineAddress | None] = contextvars.ContextVar("mastery_engine", default=None)
_clients: dict[EngineAddress, DockerClient] = {}
_clients_lock = threading.Lock()


def use(explicit: str | None = None) -> EngineAddress:
    """Choose the engine for this process (`mastery --engine URL`, or the environment's as the Docker CLI
    reads it); every later client, command and published-port address is this engine's, except in a
    grading run given its own (`using`)."""
    global _chosen
    _chosen = resolve(explicit)
    return _chosen


def address() -> EngineAddress:
    """The engine of the grading run in progress, or else of the process: every client, command and
    published-port address comes from it."""
    return _current.get() or _chosen or use()


@contextlib.contextmanager
def using(chosen: EngineAddress) -> Iterator[EngineAddress]:
    """Within the block (and the threads it starts with `threads.in_this_context`), everything goes to `chosen`."""
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def client() -> DockerClient:
    """One client per engine for the process; raises EngineUnavailable with what to do when no engine answers."""
    engine = address()
    with _clients_lock:
        known = _clients.get(engine)
    if known is not None:
        return known
    try:
        made = docker.from_env(timeout=PING_TIMEOUT_S, environment=engine.env())
        made.ping()  # an engine that hangs (a paused course engine) is reported in seconds, not minutes
        made.api.timeout = API_TIMEOUT_S
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"No Docker Engine answers at {engine.url} ({_short(exc)}).", ENGINE_HINT) from exc
    with _clients_lock:
        return _clients.setdefault(engine, made)


def answers() -> None:
    """Raise EngineUnavailable unless the engine answers a ping within seconds, on a connection of its own
    (a hung engine would hold a cached client's request for the full API timeout)."""
    chosen = address()
    try:
        probe = docker.from_env(timeout=PING_TIMEOUT_S, environment=chosen.env())
        try:
            probe.ping()
        finally:
            probe.close()
    except docker.errors.DockerException as exc:
        raise EngineUnavailable(f"No Docker Engine answers at {chosen.url} ({_short(exc)}).", ENGINE_HINT) from exc


@dataclass(frozen=True)
class EngineSite:
    """Where an engine stands toward this machine, as the engine's daemon says in its labels (the course engine
    sets them; graders/course_engine): the address at which this machine reaches the ports it publishes, and
    the one folder of this machine it sees, at the same path. An engine without them is judged by its URL."""

    published_host: str
    publish_on: str
    shared_folder: Path | None  # None: it sees every file here (a local engine) or none (a remote one)
    sees_files: bool


_sites: dict[EngineAddress, EngineSite] = {}


def site() -> EngineSite:
    """The grading engine's site, read once per engine and process."""
    chosen = address()
    with _clients_lock:
        known = _sites.get(chosen)
    if known is not None:
        return known
    labels = dict(item.split("=", 1) for item in client().info().get("Labels") or [] if "=" in item)
    host = labels.get(PUBLISHED_HOST_LABEL)
    shared = labels.get(SHARED_FOLDER_LABEL)
    found = EngineSite(
        published_host=host or chosen.published_host,
        # Inside the course engine, a port bound to its address on the host's bridge is reachable from this
        # machine and from nothing of the engine's own networks.
        publish_on=host or chosen.publish_on,
        shared_folder=Path(shared) if shared else None,
        sees_files=bool(shared) or (chosen.local and host is None))
    with _clients_lock:
        return _sites.setdefault(chosen, found)


_majors: dict[EngineAddress, int] = {}


def major_version() -> int:
    """The grading engine's major version (20 for Debian bookworm's, 28 for the course engine's), read once."""
    chosen = address()
    if chosen not in _majors:
        digits = str(client().version().get("Version", "0")).split(".")[0]
        _majors[chosen] = int(digits) if digits.isdigit() else 0
    return _majors[chosen]


BUILDKIT_DEFAULT_FROM = 23  # Engine 23.0 made BuildKit the default builder


def buildkit_by_default() -> bool:
    """Whether the grading engine builds with BuildKit unless told otherwise (Engine 23.0 and later): the builder
    the grader uses there, and the one whose messages the lessons quote."""
    return major_version() >= BUILDKIT_DEFAULT_FROM


START_INTERVAL_FROM = 25  # Engine 25.0 (API 1.44) added a healthcheck's start_interval


def probes_fast_while_starting() -> bool:
    """Whether the grading engine honours a healthcheck's `start_interval` (Engine 25 and later): Compose refuses
    the key on older engines ("can't set healthcheck.start_interval as feature require Docker Engine v25 or
    later", seen on Engine 20.10)."""
    return major_version() >= START_INTERVAL_FROM


def scratch_dir() -> str | None:
    """Where a run's scratch folders (staged copies, volume folders) go: the folder the engine shares with this
    machine where it has one, else the system's temporary folder (None)."""
    try:
        shared = site().shared_folder
    except Exception:  # no engine, or none that says: the run reports that itself when it reaches the engine
        return None
    if shared is None:
        return None
    shared.mkdir(parents=True, exist_ok=True)
    return str(shared)


def config_env(attrs: dict[str, Any]) -> dict[str, str]:
    """The environment an image's or a container's inspect data holds (its Config.Env), as a dict."""
    pairs = (attrs.get("Config") or {}).get("Env") or []
    return dict(e.split("=", 1) for e in pairs if "=" in e)


@contextlib.contextmanager
def probe_copy(image: str, limits: Limits, labels: Mapping[str, str], **options: Any) -> Iterator[Container]:
    """A created, not started, copy of a learner's image for a probe: no network, the lab's limits, no new
    privileges, the run's labels; removed with the anonymous volumes an image VOLUME made, however the block ends."""
    container = client().containers.create(
        image, labels=dict(labels), network_mode="none", mem_limit=limits.memory_bytes, memswap_limit=limits.memory_bytes,
        pids_limit=limits.pids, nano_cpus=limits.nano_cpus, security_opt=["no-new-privileges"], **options)
    try:
        yield container
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True, v=True)


def paths_in_image(image: str, paths: list[str], labels: dict[str, str], *, empty_folders: bool = True) -> list[str]:
    """Which of the absolute paths the image holds, read from a container that is created, never started.
    With `empty_folders=False` a folder that holds nothing counts as absent (what `data/*` in .dockerignore
    leaves: the folder, without its files)."""
    container = client().containers.create(image, command=["true"], labels=labels)
    found = []
    try:
        for path in paths:
            try:
                stream, _ = container.get_archive(path)
            except docker.errors.NotFound:
                continue
            chunks = iter(stream)
            with tarfile.open(fileobj=ChunkReader(chunks), mode="r|") as archive:
                members = sum(1 for _, _ in zip(range(2), archive, strict=False))
            for _ in chunks:  # drain the archive so the connection is reused
                pass
            if empty_folders or members > 1:
                found.append(path)
    finally:
        container.remove(force=True, v=True)
    return found


class ChunkReader(io.RawIOBase):
    """The byte chunks of a streamed archive, read as a file, so that tarfile never holds all of it."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


@dataclass(frozen=True)
class SweepCount:
    containers: int
    images: int
    volumes: int
    networks: int

    @property
    def total(self) -> int:
        return self.containers + self.images + self.volumes + self.networks


def labelled(run_id: str | None = None) -> SweepCount:
    """How many objects a grading run made are still there (of one run, or of any run)."""
    c = client()
    flt = {"label": f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL}
    return SweepCount(
        containers=len(c.api.containers(all=True, filters=flt)),
        images=len(c.images.list(filters={"reference": image_reference(run_id)})),
        volumes=len(c.volumes.list(filters=flt)),
        networks=len(c.api.networks(filters=flt)),
    )


def sweep(run_id: str | None = None, *, spare: Collection[str] = ()) -> SweepCount:
    """Remove the containers, images, volumes and networks of one run (or of every run but those in `spare`:
    runs still in flight). Returns what it removed.

    Images go by tag, and only tags of grading runs (mastery-grade/<name>:<run id>): an image that also
    carries another name (the learner's own `docker build -t app .` of the same steps gives the same image)
    keeps it.
    """
    if run_id is not None and not is_run_id(run_id):
        raise ValueError(f"not a run id: {run_id!r}")  # an empty one would mean every run
    c = client()
    flt = {"label": f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL}
    spared = set(spare)

    def doomed(labels: dict[str, str] | None) -> bool:
        return (labels or {}).get(RUN_LABEL) not in spared

    removed = [0, 0, 0, 0]
    for container in c.api.containers(all=True, filters=flt):
        try:
            if doomed(container.get("Labels")):
                c.api.remove_container(container["Id"], force=True, v=True)
                removed[0] += 1
        except docker.errors.NotFound:
            pass
    for image in c.images.list(filters={"reference": image_reference(run_id)}):
        for tag in image.tags:
            run = run_of_tag(tag)
            if run is None or (run_id is not None and run != run_id) or run in spared:
                continue
            try:
                # By tag, with noprune: the layers stay as build cache, which makes the next check fast.
                c.images.remove(tag, noprune=True)
                removed[1] += 1
            except docker.errors.NotFound:
                pass
    for network in c.api.networks(filters=flt):
        try:
            if doomed(network.get("Labels")):
                c.api.remove_network(network["Id"])
                removed[3] += 1
        except docker.errors.NotFound:
            pass
    for volume in c.volumes.list(filters=flt):
        try:
            if doomed(volume.attrs.get("Labels")):
                volume.remove(force=True)
                removed[2] += 1
        except docker.errors.NotFound:
            pass
    return SweepCount(*removed)


def run_owners() -> dict[str, set[str]]:
    """Every run that still has labelled containers, networks or volumes, with the owners they name
    (an empty set: made before runs carried an owner). Images carry no labels, only their run's tag."""
    c = client()
    flt = {"label": RUN_LABEL}
    found: dict[str, set[str]] = {}
    # The low-level lists: the high-level ones inspect each object, and one removed meanwhile (by a run
    # grading at the same time) would raise.
    labelled_objects: list[dict[str, str] | None] = [x.get("Labels") for x in c.api.containers(all=True, filters=flt)]
    labelled_objects += [x.get("Labels") for x in c.api.networks(filters=flt)]
    labelled_objects += [x.attrs.get("Labels") for x in c.volumes.list(filters=flt)]
    for labels in labelled_objects:
        run = (labels or {}).get(RUN_LABEL, "")
        owners = found.setdefault(run, set())
        if (labels or {}).get(OWNER_LABEL):
            owners.add((labels or {})[OWNER_LABEL])
    return found


def remove_host_dir(folder: Path, image: str, labels: dict[str, str], timeout_s: float = 60.0) -> None:
    """Remove a host folder a container wrote into. Files it made as another user (root) are removed by a
    short-lived container of `image` (a base image the lab names, never the learner's own build), without
    network, under limits, and given `timeout_s` before it is removed by force."""
    shutil.rmtree(folder, ignore_errors=True)
    if not folder.exists():
        return
    container = None
    try:
        container = client().containers.run(
            image, ["sh", "-c", "rm -rf /v/* /v/.[!.]*"], user="0", entrypoint=[], labels=labels, detach=True,
            volumes={str(folder): {"bind": "/v", "mode": "rw"}}, network_mode="none", mem_limit=256 * 2**20,
            pids_limit=32, security_opt=["no-new-privileges"])
        container.wait(timeout=timeout_s)
    except Exception as exc:  # a wait that timed out raises requests' own exception types
        log.debug("could not empty %s: %s", folder, exc)
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True, v=True)
    shutil.rmtree(folder, ignore_errors=True)
